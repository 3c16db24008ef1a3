import Glibc
import Synchronization

// tributary-faultproxy: a fault-injecting TCP proxy for tests, demos and rehearsing a bad link
// between an edge agent and the core (Linux; POSIX sockets and threads, no event loop).
//
// Threads:
// - one accept thread: poll() on the listener and the stop pipe; numbers each connection,
//   decides its `FaultPlan` and starts its thread (or refuses it: link down, too many open);
// - one thread per connection (`ConnectionPump`): poll() on client, target and its abort pipe,
//   two fixed buffers of `chunkSize`, so memory is bounded by connections × 2 × chunk size;
// - one stats ticker when `--stats` is set: rewrites the file every 0.5 s if anything changed.
//   Connection threads also rewrite it as they close, and `stop()` writes it a last time.
//
// Shared state (`ProxyState`) is behind one lock. Link down and stop raise the abort pipe of
// every open connection, whose thread then resets both its sockets.

/// A running (or not yet started) fault proxy.
///
///     let proxy = FaultProxy(configuration: c)
///     let port = try proxy.start()
///     …
///     proxy.setLink(up: false)   // every open connection reset, new ones refused
///     proxy.setLink(up: true)
///     proxy.stop()               // final stats written
public final class FaultProxy: Sendable {
    public let configuration: FaultProxyConfiguration
    private let state: ProxyState

    private enum Phase {
        case new
        case running(Running)
        case stopped
    }

    private struct Running {
        var listener: Int32
        var port: UInt16
        var stopPipe: WakePipe
        var threads: [pthread_t]
    }

    private let phase = Mutex(Phase.new)

    /// A proxy for `configuration`, logging to `log` (default: stderr at the configuration's
    /// level).
    public init(configuration: FaultProxyConfiguration, log: FaultProxyLog? = nil) {
        self.configuration = configuration
        state = ProxyState(log: log ?? FaultProxyLog(level: configuration.logLevel), statsPath: configuration.statsPath)
    }

    deinit { stop() }

    /// Binds the listener, writes the port file and the first stats file, and starts
    /// accepting. Returns the bound port (useful with port 0).
    @discardableResult
    public func start() throws -> UInt16 {
        try configuration.validate()
        // Sends use MSG_NOSIGNAL; this covers any other write to a closed socket.
        signal(SIGPIPE, SIG_IGN)
        return try phase.withLock { phase in
            guard case .new = phase else { throw FaultProxyError(.state, "the proxy was already started") }
            let (listener, port) = try Socket.listen(on: configuration.listen)
            var running = Running(listener: listener, port: port, stopPipe: try WakePipe(), threads: [])
            do {
                if let path = configuration.portFilePath { try AtomicFile.write("\(port)\n", to: path) }
                state.writeStats(force: true)
                let stopPipe = running.stopPipe
                running.threads.append(try DetachedThread.start(detached: false) { [state, configuration] in
                    Self.acceptLoop(listener: listener, stop: stopPipe, state: state, configuration: configuration)
                })
                if configuration.statsPath != nil {
                    running.threads.append(try DetachedThread.start(detached: false) { [state] in
                        var p = pollfd(fd: stopPipe.readFD, events: Int16(POLLIN), revents: 0)
                        while poll(&p, 1, 500) <= 0 { state.writeStats() }
                    })
                }
            } catch {
                running.stopPipe.raise()
                for t in running.threads { DetachedThread.join(t) }
                running.stopPipe.close()
                close(listener)
                throw error
            }
            phase = .running(running)
            state.log.info(
                "event=listening address=\(configuration.listen.host):\(port) target=\(configuration.target) seed=\(configuration.seed)")
            return port
        }
    }

    /// The bound port while running.
    public var port: UInt16? {
        phase.withLock { if case .running(let r) = $0 { r.port } else { nil } }
    }

    /// The counters as they are now.
    public var stats: FaultProxyStats { state.stats }

    /// Link down (`up: false`): resets every open connection at once and refuses new ones
    /// (accepted, then reset) until the link is up again. Logs the change.
    public func setLink(up: Bool) {
        guard let closed = state.setLink(up: up) else { return }
        state.log.info(up ? "event=link_up" : "event=link_down closed_connections=\(closed)")
        state.writeStats()
    }

    /// Stops accepting, resets every open connection, waits (≤ 5 s) for their threads and
    /// writes the stats file a last time. Idempotent.
    public func stop() {
        let taken: Running? = phase.withLock { phase in
            guard case .running(let r) = phase else {
                phase = .stopped
                return nil
            }
            phase = .stopped
            return r
        }
        guard let running = taken else { return }
        state.beginStopping()
        running.stopPipe.raise()
        for t in running.threads { DetachedThread.join(t) }
        close(running.listener)
        let deadline = MonotonicClock.nanoseconds() + 5_000_000_000
        while state.runningThreads > 0, MonotonicClock.nanoseconds() < deadline { usleep(2_000) }
        state.writeStats(force: true)
        running.stopPipe.close()
        let s = state.stats
        state.log.info("event=stopped connections=\(s.connections) cuts=\(s.cuts) stalls=\(s.stalls) flips=\(s.flips) refused=\(s.refused)")
    }

    /// Accepts until the stop pipe is raised.
    private static func acceptLoop(listener: Int32, stop: WakePipe, state: ProxyState, configuration: FaultProxyConfiguration) {
        let log = state.log
        while true {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: stop.readFD, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0, errno != EINTR { return }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                switch errno {
                case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED:
                    continue
                default:
                    // Out of descriptors (EMFILE, ENFILE) or worse: wait a little instead of spinning.
                    log.info("event=accept_failed error=\"\(SystemError.describe(errno))\"")
                    var p = pollfd(fd: stop.readFD, events: Int16(POLLIN), revents: 0)
                    if poll(&p, 1, 100) > 0 { return }
                    continue
                }
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // accept4 needs _GNU_SOURCE, which Glibc's module lacks
            admit(fd, state: state, configuration: configuration)
        }
    }

    private static func admit(_ fd: Int32, state: ProxyState, configuration: FaultProxyConfiguration) {
        switch state.admit(maxConnections: configuration.maxConnections) {
        case .refused(let reason):
            Socket.reset(fd)
            state.log.info("event=refused reason=\(reason)")
        case .accepted(let number, let abort):
            let pump = ConnectionPump(
                number: number, client: fd, plan: FaultPlan(configuration: configuration, connection: number),
                configuration: configuration, state: state, abort: abort)
            do {
                _ = try DetachedThread.start(detached: true) { pump.run() }
            } catch {
                state.abandon(number)
                Socket.reset(fd)
                state.log.info("conn=\(number) event=refused reason=no_thread error=\"\(error)\"")
            }
        }
    }
}
