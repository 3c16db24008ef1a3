import Foundation
import Logging
import PostgresNIO
@testable import TributaryCore
import TributaryProtocol

/// The PostgreSQL server the catalog tests use: `TRIBUTARY_TEST_POSTGRES_URL`
/// (scripts/test.sh starts one in a temporary directory and sets it). Each catalog gets a fresh
/// schema of its own, so tests run in parallel without seeing each other.
enum TestPostgres {
    static var url: PostgresURL? {
        guard let s = ProcessInfo.processInfo.environment["TRIBUTARY_TEST_POSTGRES_URL"], !s.isEmpty else { return nil }
        return try? PostgresURL(s)
    }

    static let logger = Logger(label: "test-postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A running, migrated catalog in a new schema; its pool stops when this is released.
    final class Running: Sendable {
        let catalog: PostgresCatalog
        let task: Task<Void, any Error>

        init(catalog: PostgresCatalog) {
            self.catalog = catalog
            task = Task { try await catalog.run() }
        }

        deinit { task.cancel() }
    }

    /// `schemaVersion`: migrate only that far (nil: to the current version).
    static func freshCatalog(timeout: Double = 10, schemaVersion: Int? = nil) async throws -> Running {
        guard let url else { throw TributaryError(.io, "TRIBUTARY_TEST_POSTGRES_URL is not set") }
        let schema = "t_" + Hex.encode(secureRandomBytes(8))
        let admin = PostgresCatalog(url: url, timeout: timeout, maxConnections: 1, logger: logger)
        let adminRun = Running(catalog: admin)
        try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: logger)
        adminRun.task.cancel()
        let r = Running(catalog: PostgresCatalog(url: url, timeout: timeout, maxConnections: 4, searchPath: schema, logger: logger))
        try await r.catalog.migrate(upTo: schemaVersion ?? PostgresCatalog.migrations.count)
        return r
    }
}
