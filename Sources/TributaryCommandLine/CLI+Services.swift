import Logging
import ServiceLifecycle

extension CLI {
    /// Runs `services` in one `ServiceGroup` until SIGTERM or SIGINT (or one of them ends), then
    /// shuts them down gracefully in reverse order. A service still busy after `gracePeriod` is
    /// cancelled — a client stalled mid-body must not hold the process — and that is logged, not
    /// thrown: what it had made durable stays (both sides' durability does not depend on a clean stop).
    public static func runUntilSignalled(_ services: [any Service], gracePeriod: Duration, logger: Logger) async throws {
        var group = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = gracePeriod
        do {
            try await ServiceGroup(configuration: group).run()
        } catch is CancellationError {
            logger.notice("shutdown: what was still busy after the grace period was cancelled", metadata: ["grace": "\(gracePeriod)"])
        }
    }
}
