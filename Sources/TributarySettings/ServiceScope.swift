import Logging
import ServiceLifecycle
import Synchronization

/// Runs a one-shot job while the services it needs run beside it — a command such as
/// `tributary-core sites add` needs the PostgreSQL pool running while it talks to the catalog.
/// All run in one `ServiceGroup`; when the job ends (returns or throws) the group shuts down
/// gracefully, in reverse order, and the job's result or error is handed back. With no services
/// the job simply runs.
public enum ServiceScope {
    public static func run<T: Sendable>(
        with services: [any Service], logger: Logger, _ job: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard !services.isEmpty else { return try await job() }
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let oneShot = OneShot { () async in
            let r: Result<T, any Error>
            do { r = .success(try await job()) } catch { r = .failure(error) }
            outcome.withLock { $0 = r }
        }
        var configs = services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
        configs.append(.init(service: oneShot, successTerminationBehavior: .gracefullyShutdownGroup))
        try await ServiceGroup(configuration: .init(services: configs, logger: logger)).run()
        guard let result = outcome.withLock({ $0 }) else { throw CancellationError() }
        return try result.get()
    }

    /// The job as a service that ends when the job does (its error is kept in the outcome, so the
    /// group shuts down gracefully either way).
    private struct OneShot: Service {
        let body: @Sendable () async -> Void
        func run() async { await body() }
    }
}
