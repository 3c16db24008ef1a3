#if canImport(Glibc)
import Glibc
#endif
import CPosix
import Logging
import ServiceLifecycle
import TributaryDelivery

/// The agent's side of `SpoolDoorbell`: waits (a thread blocked in poll(2), no timer) for a ring
/// and signals the batcher. Where inotify is unavailable (or the file cannot be watched) it
/// signals the batcher every `poll_ms` instead, so the batcher itself never needs a short timer.
final class DoorbellService: Service, @unchecked Sendable {
    private let spool: String
    private let ringing: Wakeup
    private let fallbackMilliseconds: Int
    private let clock: any ServiceClock
    private let logger: Logger
    /// The inotify instance watching the file (-1: none), set up when the service is built so
    /// that every ring after that is heard.
    private let fd: Int32
    private let armed: Bool

    /// `ringing`: what a ring signals (the batcher's wake-up); `fallbackMilliseconds`: how often
    /// to signal it without inotify (`poll_ms`).
    init(spool: String, ringing: Wakeup, fallbackMilliseconds: Int, clock: any ServiceClock, logger: Logger) {
        self.spool = spool
        self.ringing = ringing
        self.fallbackMilliseconds = fallbackMilliseconds
        self.clock = clock
        self.logger = logger
        fd = tributary_inotify_init()
        armed = fd >= 0 && Self.arm(fd, spool: spool)
    }

    deinit { if fd >= 0 { close(fd) } }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        var hearing = armed
        if !hearing { logger.notice("no inotify on spool/doorbell: objects `put` while the agent runs are looked for every poll_ms") }
        while !Task.isCancelled {
            guard hearing else {
                await clock.sleep(milliseconds: fallbackMilliseconds)
                ringing.signal()
                continue
            }
            guard !(await ReadableWait.readable([fd], milliseconds: -1)).isEmpty else { continue }
            // IN_IGNORED: the watch is gone (the file was removed): watch a new one.
            let removed = Inotify.drain(fd).contains { $0.mask & TRIBUTARY_IN_IGNORED != 0 }
            ringing.signal()
            if removed && !Self.arm(fd, spool: spool) {
                logger.error("cannot watch spool/doorbell again: objects `put` while the agent runs are looked for every poll_ms", metadata: ["spool": "\(spool)"])
                hearing = false
            }
        }
    }

    /// Creates the file and watches it.
    private static func arm(_ fd: Int32, spool: String) -> Bool {
        SpoolDoorbell.ring(spool: spool)
        return tributary_inotify_add_watch(fd, SpoolDoorbell.path(spool: spool), TRIBUTARY_IN_CLOSE_WRITE) >= 0
    }
}
