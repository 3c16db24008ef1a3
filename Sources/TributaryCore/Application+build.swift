import Hummingbird
import Logging

/// The core as one Hummingbird application — the template's `buildApplication`, which
/// `tributary-core serve` runs in its `ServiceGroup` and tests may build with their own
/// configuration (port 0). Everything long-running is a service of the application's group, in
/// start order (graceful shutdown runs in reverse):
/// 1. the backends' own work (`CoreServer.backendServices`: PostgreSQL's connection pool), so it
///    stops last;
/// 2. `RecoveryService`: migrations (waiting for the database), start-up recovery beside live
///    traffic (on SIGTERM no further commit starts), then manifest repair every minute;
/// 3. `RefusalCounter`, `ExpirySweeper`, and with TLS the `SIGHUPReloader`;
/// then Hummingbird's date cache and the HTTP server, which stops taking requests first.
public func buildApplication(
    configuration: CoreConfiguration, logger: Logger, metrics: NodeMetrics,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let server = try CoreServer(configuration: configuration, logger: logger, metrics: metrics)
    let (lake, catalog) = (try configuration.lakeLocation(), try configuration.catalogLocation())
    logger.notice("backends", metadata: ["lake": "\(lake)", "catalog": "\(catalog)"])
    return try await server.makeApplication(onServerRunning: onServerRunning)
}
