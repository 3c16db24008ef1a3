import Logging
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
        // Written when the live view changes (at most every 250 ms, so an upload's progress costs
        // four writes a second), and once a minute regardless; an idle agent waits on the
        // runtime's `changed` signal instead of polling.
        var written: UInt64 = .max
        var lastWrite = clock.now()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let g = runtime.generation
            if g != written || clock.now() - lastWrite >= 60 {
                do { try runtime.write(spool: spool) } catch { logger.warning("cannot write the status file", metadata: ["error": "\(error)"]) }
                written = g
                lastWrite = clock.now()
                await clock.sleep(milliseconds: 250)
            }
            _ = runtime.changed.consume()
            if runtime.generation == written { await runtime.changed.wait(milliseconds: 60_000, clock: clock) }
        }
        runtime.clearInFlight()
        try? runtime.write(spool: spool)
    }
}
