import Logging
import PostgresNIO
import TributarySQLite

/// The per-site upserts, written once for both dialects: each statement numbers its parameters
/// and takes the little that differs (placeholder syntax, "the later of two timestamps") from
/// `SQLDialect`. Every update adds to or replaces the stored value inside one statement, so nodes
/// sharing PostgreSQL never lose each other's increments (Fleet/SiteState.swift, "Invariants").
struct CatalogStatement: Sendable {
    var sql: String
    var values: [SQLValue]
}

enum SQLDialect {
    case sqlite, postgres

    /// The `i`-th parameter (1-based).
    func p(_ i: Int) -> String { self == .sqlite ? "?\(i)" : "$\(i)" }

    /// The later of `site_state.<column>` (NULL when never set) and the row being upserted.
    func later(_ column: String) -> String {
        switch self {
        case .sqlite: return "max(COALESCE(site_state.\(column), ''), excluded.\(column))"
        case .postgres: return "GREATEST(site_state.\(column), excluded.\(column))"
        }
    }

    /// Adds a commit's counters to its site (the commit's transaction).
    func tally(site: String, at: String, _ t: SiteTally) -> CatalogStatement {
        let c = t.counters
        let added = ["objects_received", "bytes_received", "objects_stored", "bytes_stored", "duplicates", "duplicate_bytes", "lag_count", "lag_sum"]
        return CatalogStatement(
            sql: """
                INSERT INTO site_state(site, last_seen, last_commit_at, \(added.joined(separator: ", ")))
                VALUES (\(p(1)), \(p(2)), \(p(2)), \((3..<11).map(p).joined(separator: ", ")))
                ON CONFLICT (site) DO UPDATE SET
                    last_seen = \(later("last_seen")),
                    last_commit_at = \(later("last_commit_at")),
                    \(added.map { "\($0) = site_state.\($0) + excluded.\($0)" }.joined(separator: ",\n    "))
                """,
            values: [.text(site), .text(at), .integer(c.objectsReceived), .integer(c.bytesReceived), .integer(c.objectsStored),
                     .integer(c.bytesStored), .integer(c.duplicates), .integer(c.duplicateBytes), .integer(t.lag.count), .real(t.lag.sumSeconds)])
    }

    /// Stores a heartbeat's report and the drop counter the drop rule computed.
    func heartbeat(_ beat: HeartbeatRecord, drops: DropCounter) -> CatalogStatement {
        CatalogStatement(
            sql: """
                INSERT INTO site_state(site, last_seen, last_report_at, report, dropped_objects, drops_changed_at)
                VALUES (\(p(1)), \(p(2)), \(p(2)), \(p(3)), \(p(4)), \(p(5)))
                ON CONFLICT (site) DO UPDATE SET
                    last_seen = \(later("last_seen")),
                    last_report_at = excluded.last_report_at,
                    report = excluded.report,
                    dropped_objects = excluded.dropped_objects,
                    drops_changed_at = excluded.drops_changed_at
                """,
            values: [.text(beat.site), .text(beat.receivedAt), .text(beat.reportJSON), .integer(drops.count), drops.changedAt.map(SQLValue.text) ?? .null])
    }

    /// Stores a heartbeat's backlog point (the last report in a step wins).
    func backlogPoint(_ beat: HeartbeatRecord) -> CatalogStatement {
        let point = beat.point
        return CatalogStatement(
            sql: """
                INSERT INTO site_backlog(site, at, pending_objects, pending_bytes) VALUES (\(p(1)), \(p(2)), \(p(3)), \(p(4)))
                ON CONFLICT (site, at) DO UPDATE SET pending_objects = excluded.pending_objects, pending_bytes = excluded.pending_bytes
                """,
            values: [.text(beat.site), .text(point.at), .integer(point.pendingObjects), .integer(point.pendingBytes)])
    }

    /// Deletes the site's backlog points older than the heartbeat's retention.
    func backlogPrune(_ beat: HeartbeatRecord) -> CatalogStatement {
        CatalogStatement(sql: "DELETE FROM site_backlog WHERE site = \(p(1)) AND at < \(p(2))", values: [.text(beat.site), .text(beat.historyKeepFrom)])
    }

    /// Counts refused requests under a reason.
    func rejection(site: String, reason: String, count: Int, at: String) -> CatalogStatement {
        CatalogStatement(
            sql: """
                INSERT INTO site_rejections(site, reason, count, last_at) VALUES (\(p(1)), \(p(2)), \(p(3)), \(p(4)))
                ON CONFLICT (site, reason) DO UPDATE SET count = site_rejections.count + excluded.count, last_at = excluded.last_at
                """,
            values: [.text(site), .text(reason), .integer(Int64(count)), .text(at)])
    }

    /// Moves the site's last seen forward to `at` (never back).
    func seen(site: String, at: String) -> CatalogStatement {
        CatalogStatement(
            sql: """
                INSERT INTO site_state(site, last_seen) VALUES (\(p(1)), \(p(2)))
                ON CONFLICT (site) DO UPDATE SET last_seen = \(later("last_seen"))
                """,
            values: [.text(site), .text(at)])
    }
}

extension SQLiteDatabase {
    func run(_ s: CatalogStatement) throws {
        try query(s.sql, s.values)
    }
}

extension PostgresConnection {
    func run(_ s: CatalogStatement, logger: Logger) async throws {
        var binds = PostgresBindings(capacity: s.values.count)
        for v in s.values {
            switch v {
            case .null: binds.appendNull()
            case .integer(let i): binds.append(i)
            case .real(let d): binds.append(d)
            case .text(let t): binds.append(t)
            }
        }
        try await query(PostgresQuery(unsafeSQL: s.sql, binds: binds), logger: logger)
    }
}
