import Glibc

/// Forwards one accepted connection to the target on its own thread and injects the faults of
/// its `FaultPlan`: one `poll()` loop over the client, the target and the abort pipe.
///
/// - Cut: writes are clipped so the cut point is hit exactly; then the proxy waits (≤ 1 s)
///   until the peer(s) the cut counts have acknowledged those bytes, and resets both sockets
///   (`SO_LINGER` 0). A peer that stopped reading may thus receive fewer bytes.
/// - Stall: writes of the upstream lane are clipped at the stall point; then nothing is read
///   or written either way for the stall's length, the sockets staying open.
/// - Throttle: each lane writes only what its token bucket holds, at least 1/50 s worth at a
///   time, and sleeps in `poll()` until it does.
/// - Half-close: a FIN from one side becomes `shutdown(SHUT_WR)` on the other once the
///   buffered bytes are through; the other lane keeps going until it ends too.
/// - Any read or write error (reset by a peer) resets both sockets; so does the abort pipe
///   (link down, stop).
final class ConnectionPump: Sendable {
    private let number: UInt64
    private let client: Int32
    private let plan: FaultPlan
    private let configuration: FaultProxyConfiguration
    private let state: ProxyState
    private let abort: WakePipe

    /// Why the loop ended.
    private enum End {
        case completed
        case cut
        case peerFailed(lane: String, errno: Int32)
        case aborted
    }

    init(number: UInt64, client: Int32, plan: FaultPlan, configuration: FaultProxyConfiguration, state: ProxyState, abort: WakePipe) {
        self.number = number
        self.client = client
        self.plan = plan
        self.configuration = configuration
        self.state = state
        self.abort = abort
    }

    private var log: FaultProxyLog { state.log }

    /// Connects, forwards until both sides are done (or a fault or abort ends it), closes.
    func run() {
        defer { state.threadExited() }
        log.debug("conn=\(number) event=open client=\(Socket.peerName(client))")
        let target: Int32
        switch Socket.connect(to: configuration.target, timeoutMilliseconds: configuration.connectTimeoutMilliseconds, abort: abort.readFD) {
        case .failure(let error):
            // Log lines come before the closes they describe, so whoever sees the close can
            // already read the line.
            if abort.isRaised {
                log.debug("conn=\(number) event=close reason=aborted bytes_up=0 bytes_down=0")
                Socket.reset(client)
            } else {
                log.info("conn=\(number) event=connect_failed target=\(configuration.target) error=\"\(error.message)\"")
                close(client)
            }
            state.closed(number)
            return
        case .success(let fd):
            target = fd
        }
        Socket.setNonBlocking(client)
        Socket.setNoDelay(client)
        Socket.setNoDelay(target)

        var up = Lane(name: "up", source: client, destination: target, capacity: configuration.chunkSize)
        var down = Lane(name: "down", source: target, destination: client, capacity: configuration.chunkSize)
        defer {
            up.deallocate()
            down.deallocate()
        }
        if configuration.throttleBytesPerSecond > 0 {
            let now = MonotonicClock.nanoseconds()
            up.bucket = TokenBucket(bytesPerSecond: configuration.throttleBytesPerSecond, now: now)
            down.bucket = TokenBucket(bytesPerSecond: configuration.throttleBytesPerSecond, now: now)
        }
        up.flipper = plan.upstreamFlips
        down.flipper = plan.downstreamFlips

        let end = pump(&up, &down)
        let totals = "bytes_up=\(up.delivered) bytes_down=\(down.delivered)"
        switch end {
        case .completed:
            log.debug("conn=\(number) event=close reason=eof \(totals)")
            close(client)
            close(target)
        case .cut:
            log.info("conn=\(number) event=cut after_bytes=\(counted(up, down)) direction=\(plan.cutDirection.rawValue) \(totals)")
            state.update { $0.cuts += 1 }
            switch plan.cutDirection {
            case .up: waitUntilAcknowledged([target])
            case .down: waitUntilAcknowledged([client])
            case .both: waitUntilAcknowledged([target, client])
            }
            Socket.reset(client)
            Socket.reset(target)
        case .peerFailed(let lane, let code):
            log.debug("conn=\(number) event=close reason=peer_error lane=\(lane) error=\"\(SystemError.describe(code))\" \(totals)")
            Socket.reset(client)
            Socket.reset(target)
        case .aborted:
            log.debug("conn=\(number) event=close reason=aborted \(totals)")
            Socket.reset(client)
            Socket.reset(target)
        }
        state.closed(number)
    }

    /// The bytes the cut point is compared with.
    private func counted(_ up: Lane, _ down: Lane) -> UInt64 {
        switch plan.cutDirection {
        case .up: up.delivered
        case .down: down.delivered
        case .both: up.delivered + down.delivered
        }
    }

    private func pump(_ up: inout Lane, _ down: inout Lane) -> End {
        var pendingStall = plan.stall
        var stallUntil: UInt64?
        while true {
            if let cut = plan.cutAfter, counted(up, down) >= cut { return .cut }
            if let stall = pendingStall, up.delivered >= stall.afterUpstreamBytes {
                pendingStall = nil
                stallUntil = MonotonicClock.nanoseconds() + stall.milliseconds * 1_000_000
                state.update { $0.stalls += 1 }
                log.info("conn=\(number) event=stall after_bytes=\(up.delivered) ms=\(stall.milliseconds)")
            }
            if let until = stallUntil {
                let now = MonotonicClock.nanoseconds()
                if now < until {
                    if waitForAbort(nanoseconds: until - now) { return .aborted }
                    continue
                }
                stallUntil = nil
                log.debug("conn=\(number) event=stall_end")
            }
            up.finishIfDrained()
            down.finishIfDrained()
            if up.finished && down.finished { return .completed }

            var timeout = UInt64.max
            let upLimit = limit(&up, isUp: true, cutRoom: cutRoom(up, down, isUp: true), stall: pendingStall, timeout: &timeout)
            let downLimit = limit(&down, isUp: false, cutRoom: cutRoom(up, down, isUp: false), stall: pendingStall, timeout: &timeout)
            var clientEvents: Int16 = up.wantsRead ? Int16(POLLIN) : 0
            var targetEvents: Int16 = down.wantsRead ? Int16(POLLIN) : 0
            if upLimit > 0 { targetEvents |= Int16(POLLOUT) }
            if downLimit > 0 { clientEvents |= Int16(POLLOUT) }
            var fds = [
                pollfd(fd: abort.readFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: clientEvents != 0 ? up.source : -1, events: clientEvents, revents: 0),
                pollfd(fd: targetEvents != 0 ? down.source : -1, events: targetEvents, revents: 0),
            ]
            let ms: Int32 = timeout == .max ? -1 : Int32(min((timeout + 999_999) / 1_000_000, 60_000))
            if poll(&fds, 3, ms) < 0 {
                if errno == EINTR { continue }
                return .peerFailed(lane: "poll", errno: errno)
            }
            if fds[0].revents != 0 { return .aborted }
            let readable = Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)
            if fds[1].revents & readable != 0, up.wantsRead, let end = read(&up) { return end }
            if fds[2].revents & readable != 0, down.wantsRead, let end = read(&down) { return end }
            // Limits are taken afresh before each write: with `--direction both` the two lanes
            // share one cut point, and time has passed for the buckets. A write that would
            // block costs one EAGAIN; the next poll then waits for POLLOUT.
            var ignored = UInt64.max
            let upNow = limit(&up, isUp: true, cutRoom: cutRoom(up, down, isUp: true), stall: pendingStall, timeout: &ignored)
            if upNow > 0, let end = write(&up, limit: upNow, isUp: true) { return end }
            let downNow = limit(&down, isUp: false, cutRoom: cutRoom(up, down, isUp: false), stall: pendingStall, timeout: &ignored)
            if downNow > 0, let end = write(&down, limit: downNow, isUp: false) { return end }
        }
    }

    /// How many bytes `lane` may write now: its pending bytes, clipped at the cut point, the
    /// stall point (upstream only) and its token bucket. When the bucket is what stops it,
    /// lowers `timeout` to when it will have enough (at least 1/50 s of traffic, or all that
    /// is pending).
    private func limit(_ lane: inout Lane, isUp: Bool, cutRoom: UInt64?, stall: FaultPlan.Stall?, timeout: inout UInt64) -> Int {
        var allowed = UInt64(lane.pending)
        guard allowed > 0 else { return 0 }
        if let cutRoom { allowed = min(allowed, cutRoom) }
        if isUp, let stall {
            allowed = min(allowed, stall.afterUpstreamBytes - min(stall.afterUpstreamBytes, lane.delivered))
        }
        guard allowed > 0, var bucket = lane.bucket else { return Int(allowed) }
        defer { lane.bucket = bucket }
        let now = MonotonicClock.nanoseconds()
        let tokens = bucket.available(now: now)
        if tokens < min(allowed, bucket.capacity) {
            timeout = min(timeout, max(1, bucket.delay(until: allowed, now: now)))
            return 0
        }
        return Int(min(allowed, tokens))
    }

    /// Bytes the lane may still deliver before the cut point; nil when no cut applies to it.
    private func cutRoom(_ up: Lane, _ down: Lane, isUp: Bool) -> UInt64? {
        guard let cut = plan.cutAfter, isUp ? plan.cutDirection.includesUp : plan.cutDirection.includesDown else { return nil }
        return cut - min(cut, counted(up, down))
    }

    /// Reads into `lane`; returns how the connection ends if it must.
    private func read(_ lane: inout Lane) -> End? {
        let (outcome, flip) = lane.read()
        if let flip {
            state.update { $0.flips += 1 }
            log.info("conn=\(number) event=flip direction=\(lane.name) after_bytes=\(flip.streamOffset) bit=\(flip.bit)")
        }
        if case .failed(let code) = outcome { return .peerFailed(lane: lane.name, errno: code) }
        return nil
    }

    /// Writes from `lane`; returns how the connection ends if it must.
    private func write(_ lane: inout Lane, limit: Int, isUp: Bool) -> End? {
        switch lane.write(limit: limit) {
        case .progressed(let n):
            lane.bucket?.spend(UInt64(n))
            state.update { s in
                if isUp { s.bytesUp += UInt64(n) } else { s.bytesDown += UInt64(n) }
            }
            return nil
        case .wouldBlock:
            return nil
        case .failed(let code):
            return .peerFailed(lane: lane.name, errno: code)
        }
    }

    /// Sleeps up to `nanoseconds`; true if the abort pipe was raised meanwhile.
    private func waitForAbort(nanoseconds: UInt64) -> Bool {
        var p = pollfd(fd: abort.readFD, events: Int16(POLLIN), revents: 0)
        let ms = Int32(min((nanoseconds + 999_999) / 1_000_000, 60_000))
        return poll(&p, 1, ms) > 0
    }

    /// Before a cut: waits (at most 1 s, or until aborted) until the peers have acknowledged
    /// every byte written to them, so "delivered" means received, not just queued — a reset
    /// drops whatever is still unacknowledged.
    private func waitUntilAcknowledged(_ fds: [Int32]) {
        let deadline = MonotonicClock.nanoseconds() + 1_000_000_000
        while fds.contains(where: { Socket.unacknowledged($0) > 0 }), MonotonicClock.nanoseconds() < deadline {
            if waitForAbort(nanoseconds: 2_000_000) { return }
        }
    }
}
