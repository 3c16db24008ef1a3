import Foundation
import PostgresNIO
import Testing
@testable import TributaryCore
import TributaryProtocol
import TributarySQLite
import TributaryTestKit

/// Schema version 2 (per-site state) on a catalog that already holds commits: the counters of
/// earlier arrivals are filled in, and later commits add to them.
@Suite("Catalog upgrade to per-site state")
struct CatalogUpgradeTests {
    /// Two stored arrivals and a duplicate for plant-a, one for plant-b, as a version-1 core left them.
    static let rows: [(upload: String, seq: Int, site: String, sha: String, size: Int64, received: String, status: String)] = [
        ("u1", 0, "plant-a", "x", 10, "2026-11-20T10:00:00.000Z", "stored"),
        ("u1", 1, "plant-a", "y", 20, "2026-11-20T10:00:00.000Z", "stored"),
        ("u2", 0, "plant-a", "x", 10, "2026-11-20T11:00:00.000Z", "duplicate"),
        ("u3", 0, "plant-b", "z", 5, "2026-11-20T09:00:00.000Z", "stored"),
    ]

    static func check(_ catalog: any Catalog) async throws {
        let states = Dictionary(uniqueKeysWithValues: try await catalog.siteStates().map { ($0.site, $0) })
        let a = try #require(states["plant-a"])
        #expect(a.counters.objectsReceived == 3 && a.counters.bytesReceived == 40)
        #expect(a.counters.objectsStored == 2 && a.counters.bytesStored == 30)
        #expect(a.counters.duplicates == 1 && a.counters.duplicateBytes == 10)
        #expect(a.lastCommitAt == "2026-11-20T11:00:00.000Z" && a.lastSeen == a.lastCommitAt)
        #expect(a.lag.count == 0, "ingest lag counts from the upgrade on")
        #expect(states["plant-b"]?.counters.objectsStored == 1)
        // A commit after the upgrade adds to the filled-in counters.
        _ = try await catalog.commit(CatalogContractTests.record(upload: String(repeating: "f", count: 32), shas: ["w"], keyPrefix: "k"))
        let after = try #require(try await catalog.siteState("plant-a"))
        #expect(after.counters.objectsReceived == 4 && after.counters.objectsStored == 3)
    }

    @Test("SQLite: version 1 → 2 fills in the counters from arrivals")
    func sqlite() async throws {
        let dir = try TemporaryDirectory(prefix: "tributary-upgrade")
        let path = dir.path("catalog.sqlite")
        do {
            let db = try SQLiteDatabase(path: path)
            try db.migrate([SQLiteCatalog.migrations[0]])
            for s in ["plant-a", "plant-b"] {
                try db.query("INSERT INTO sites VALUES(?, ?, '2026-11-01T00:00:00.000Z')", [.text(s), .text("t-" + s)])
            }
            for r in Self.rows {
                try db.query(
                    "INSERT INTO arrivals VALUES(?, ?, ?, 'vibration', 'n', ?, ?, '2026-11-20T09:00:00.000Z', ?, 'k', ?)",
                    [.text(r.upload), .integer(Int64(r.seq)), .text(r.site), .text(r.sha), .integer(r.size), .text(r.received), .text(r.status)])
            }
            #expect(try db.userVersion == 1)
        }
        let catalog = try SQLiteCatalog(path: path)
        try await Self.check(catalog)
    }

    @Test("PostgreSQL: version 1 → 2 fills in the counters from arrivals", .enabled(if: TestPostgres.url != nil))
    func postgres() async throws {
        let r = try await TestPostgres.freshCatalog(schemaVersion: 1)
        let c = r.catalog
        for s in ["plant-a", "plant-b"] {
            let token = "t-" + s
            try await c.client.query("INSERT INTO sites VALUES (\(s), \(token), '2026-11-01T00:00:00.000Z')", logger: TestPostgres.logger)
        }
        for row in Self.rows {
            let (u, seq, site, sha, size, received, status) = (row.upload, Int32(row.seq), row.site, row.sha, row.size, row.received, row.status)
            try await c.client.query(
                """
                INSERT INTO arrivals VALUES (\(u), \(seq), \(site), 'vibration', 'n', \(sha), \(size), '2026-11-20T09:00:00.000Z',
                    \(received), 'k', \(status))
                """, logger: TestPostgres.logger)
        }
        try await c.migrate()
        try await Self.check(c)
    }
}
