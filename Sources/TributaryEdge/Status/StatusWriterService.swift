import Logging
import Synchronization
import ServiceLifecycle
import TributaryDelivery

/// Writes the agent's live status file within 250 ms of a change (and every 5 s regardless, so
/// `updated_at` shows the agent is alive), and once more on the way out.
final class StatusWriterService: Service, @unchecked Sendable {
    let runtime: AgentRuntime
    let spool: String
    let logger: Logger
    let clock: any ServiceClock

    init(runtime: AgentRuntime, spool: String, logger: Logger, clock: any ServiceClock = SystemClock()) {
        self.runtime = runtime
        self.spool = spool
        self.logger = logger
        self.clock = clock
    }

    func run() async throws {
        // A graceful shutdown ends the wait below at once (the final write follows); without this
        // the agent's stop waited out the group's grace period (10 s) on the 60 s timer.
        try await withGracefulShutdownHandler {
            try await loop()
        } onGracefulShutdown: { [self] in
            stopping.store(true, ordering: .sequentiallyConsistent)
            runtime.changed.signal()
        }
    }

    /// Set before the shutdown's signal: the loop reads it after consuming stale signals, so the
    /// shutdown's signal is never the one it throws away.
    private let stopping = Atomic<Bool>(false)

    private func loop() async throws {
        // Written when the live view changes (at most every 250 ms, so an upload's progress costs
        // four writes a second), and once a minute regardless; an idle agent waits on the
        // runtime's `changed` signal instead of polling.
        var written: UInt64 = .max
        var lastWrite = clock.now()
        while !Task.isCancelled && !stopping.load(ordering: .sequentiallyConsistent) {
            let g = runtime.generation
            if g != written || clock.now() - lastWrite >= 60 {
                do { try runtime.write(spool: spool) } catch { logger.warning("cannot write the status file", metadata: ["error": "\(error)"]) }
                written = g
                lastWrite = clock.now()
                await clock.sleep(milliseconds: 250)
            }
            _ = runtime.changed.consume()
            if stopping.load(ordering: .sequentiallyConsistent) { break }
            if runtime.generation == written { await runtime.changed.wait(milliseconds: 60_000, clock: clock) }
        }
        runtime.clearInFlight()
        try? runtime.write(spool: spool)
    }
}
