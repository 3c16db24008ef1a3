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
        var written: UInt64 = .max
        var ticks = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let g = runtime.generation
            if g != written || ticks % 20 == 0 {
                do { try runtime.write(spool: spool) } catch { logger.warning("cannot write the status file", metadata: ["error": "\(error)"]) }
                written = g
            }
            ticks += 1
            try? await Task.sleep(for: .milliseconds(250))
        }
        runtime.clearInFlight()
        try? runtime.write(spool: spool)
    }
}
