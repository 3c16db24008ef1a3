import Logging
import PostgresNIO
import TributaryProtocol

/// Per-site state in the shared catalog (schema in Fleet/SiteState.swift). Every update is an
/// upsert that adds to the stored value, so nodes never lose each other's increments.
extension PostgresCatalog {
    /// Adds a commit's tally to its site; runs inside the commit's transaction, after the
    /// upload's own rows (site_state, then site_lag by ascending bucket: one lock order for all).
    static func recordTally(_ conn: PostgresConnection, site: String, at: String, _ t: SiteTally, logger: Logger) async throws {
        try await conn.run(SQLDialect.postgres.tally(site: site, at: at, t), logger: logger)
        let buckets = t.lagBuckets
        if !buckets.isEmpty {
            try await conn.query(
                """
                INSERT INTO site_lag(site, bucket, count)
                SELECT \(site), b.bucket, b.count FROM UNNEST(\(buckets.map { Int32($0.0) })::integer[], \(buckets.map(\.1))::bigint[])
                    AS b(bucket, count) ORDER BY b.bucket
                ON CONFLICT (site, bucket) DO UPDATE SET count = site_lag.count + excluded.count
                """, logger: logger)
        }
    }

    public func storeHeartbeat(_ beat: HeartbeatRecord, drops: @escaping @Sendable (DropCounter?) -> DropCounter) async throws {
        try await call("heartbeat") { [client, logger] in
            try await client.withTransaction(logger: logger) { conn in
                let site = beat.site
                // The site's row, locked for the read-modify-write of the drop counter (two nodes
                // taking heartbeats of a site that has reported before apply them one after the other).
                let previous = try await conn.query(
                    "SELECT \(unescaped: DropCounter.columns) FROM site_state WHERE site = \(site) FOR UPDATE", logger: logger
                ).catalogRows().first.map(DropCounter.init(row:))
                let counter = drops(previous)
                try await conn.run(SQLDialect.postgres.heartbeat(beat, drops: counter), logger: logger)
                try await conn.run(SQLDialect.postgres.backlogPoint(beat), logger: logger)
                try await conn.run(SQLDialect.postgres.backlogPrune(beat), logger: logger)
            }
        }
    }

    public func recordRejection(site: String, reason: String, count: Int, at: String) async throws {
        try await call("rejection") { [client, logger] in
            try await client.withTransaction(logger: logger) { conn in
                try await conn.run(SQLDialect.postgres.rejection(site: site, reason: reason, count: count, at: at), logger: logger)
                try await conn.run(SQLDialect.postgres.seen(site: site, at: at), logger: logger)
            }
        }
    }

    public func siteStates() async throws -> [SiteState] {
        try await states(site: nil)
    }

    public func siteState(_ site: String) async throws -> SiteState? {
        try await states(site: site).first
    }

    private func states(site: String?) async throws -> [SiteState] {
        try await call("site states") { [client, logger] in
            // One REPEATABLE READ snapshot, so the three reads agree.
            try await client.withConnection { conn in
                try await conn.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
                do {
                    let out = try await Self.readStates(conn, site: site, logger: logger)
                    try await conn.query("COMMIT", logger: logger)
                    return out
                } catch {
                    _ = try? await conn.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        }
    }

    private static func readStates(_ conn: PostgresConnection, site: String?, logger: Logger) async throws -> [SiteState] {
        let states = try await conn.query(
            """
            SELECT \(unescaped: SiteState.columns) FROM sites s LEFT JOIN site_state st ON st.site = s.site
            WHERE \(site)::text IS NULL OR s.site = \(site) ORDER BY s.site
            """, logger: logger
        ).catalogRows().map(SiteState.init(row:))
        return try await SiteState.merging(
            states,
            lag: conn.query(
                "SELECT \(unescaped: SiteState.lagColumns) FROM site_lag WHERE \(site)::text IS NULL OR site = \(site)", logger: logger
            ).catalogRows(),
            rejections: conn.query(
                "SELECT \(unescaped: SiteState.rejectionColumns) FROM site_rejections WHERE \(site)::text IS NULL OR site = \(site)",
                logger: logger
            ).catalogRows())
    }

    public func backlogHistory(site: String?, since: String) async throws -> [String: [BacklogPoint]] {
        try await call("backlog history") { [client, logger] in
            var out: [String: [BacklogPoint]] = [:]
            for r in try await client.query(
                """
                SELECT site, \(unescaped: BacklogPoint.columns) FROM site_backlog
                WHERE (\(site)::text IS NULL OR site = \(site)) AND at >= \(since) ORDER BY site, at
                """, logger: logger
            ).catalogRows() {
                out[try r.text(0), default: []].append(try BacklogPoint(row: r.dropping(1)))
            }
            return out
        }
    }
}
