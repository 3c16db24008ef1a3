import Logging
import ServiceLifecycle

/// Writes the agent's live status file within 250 ms of a change (and every 5 s regardless, so
/// `updated_at` shows the agent is alive), and once more on the way out.
final class StatusWriterService: Service, @unchecked Sendable {
    let runtime: AgentRuntime
    let spool: String
    let logger: Logger

    init(runtime: AgentRuntime, spool: String, logger: Logger) {
        self.runtime = runtime
        self.spool = spool
        self.logger = logger
    }

    func run() async throws {
        // Written when the live view changes (at most every 250 ms, so an upload's progress costs
        // four writes a second), and once a minute regardless; an idle agent waits on the
        // runtime's `changed` signal instead of polling.
        var written: UInt64 = .max
        var lastWrite = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let g = runtime.generation
            if g != written || ContinuousClock.now - lastWrite >= .seconds(60) {
                do { try runtime.write(spool: spool) } catch { logger.warning("cannot write the status file", metadata: ["error": "\(error)"]) }
                written = g
                lastWrite = ContinuousClock.now
                try? await Task.sleep(for: .milliseconds(250))
            }
            _ = runtime.changed.consume()
            if runtime.generation == written { await runtime.changed.wait(milliseconds: 60_000) }
        }
        runtime.clearInFlight()
        try? runtime.write(spool: spool)
    }
}
