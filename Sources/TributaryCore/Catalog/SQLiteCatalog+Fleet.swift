import TributaryProtocol
import TributarySQLite

/// Per-site state in the embedded catalog (schema in Fleet/SiteState.swift).
extension SQLiteCatalog {
    /// Adds a commit's tally to its site; runs inside the commit's transaction.
    static func recordTally(_ db: SQLiteDatabase, site: String, at: String, _ t: SiteTally) throws {
        try db.run(SQLDialect.sqlite.tally(site: site, at: at, t))
        for (bucket, count) in t.lagBuckets {
            try db.query(
                """
                INSERT INTO site_lag(site, bucket, count) VALUES(?, ?, ?)
                ON CONFLICT(site, bucket) DO UPDATE SET count = site_lag.count + excluded.count
                """, [.text(site), .integer(Int64(bucket)), .integer(count)])
        }
    }

    public func storeHeartbeat(_ beat: HeartbeatRecord, drops: @escaping @Sendable (DropCounter?) -> DropCounter) async throws {
        try await with { db in
            try db.transaction {
                let previous = try db.rows("SELECT \(DropCounter.columns) FROM site_state WHERE site = ?", [.text(beat.site)]).first
                    .map(DropCounter.init(row:))
                let counter = drops(previous)
                try db.run(SQLDialect.sqlite.heartbeat(beat, drops: counter))
                try db.run(SQLDialect.sqlite.backlogPoint(beat))
                try db.run(SQLDialect.sqlite.backlogPrune(beat))
            }
        }
    }

    public func recordRejection(site: String, reason: String, count: Int, at: String) async throws {
        try await with { db in
            try db.transaction {
                try db.run(SQLDialect.sqlite.rejection(site: site, reason: reason, count: count, at: at))
                try db.run(SQLDialect.sqlite.seen(site: site, at: at))
            }
        }
    }

    public func siteStates() async throws -> [SiteState] {
        try await with { db in try Self.states(db, site: nil) }
    }

    public func siteState(_ site: String) async throws -> SiteState? {
        try await with { db in try Self.states(db, site: site).first }
    }

    private static func states(_ db: SQLiteDatabase, site: String?) throws -> [SiteState] {
        try db.transaction {
            let filter = site == nil ? "" : " WHERE site = ?"
            let params: [SQLValue] = site.map { [.text($0)] } ?? []
            let states = try db.rows(
                "SELECT \(SiteState.columns) FROM sites s LEFT JOIN site_state st ON st.site = s.site\(site == nil ? "" : " WHERE s.site = ?") ORDER BY s.site",
                params
            ).map(SiteState.init(row:))
            return try SiteState.merging(
                states, lag: db.rows("SELECT \(SiteState.lagColumns) FROM site_lag\(filter)", params),
                rejections: db.rows("SELECT \(SiteState.rejectionColumns) FROM site_rejections\(filter)", params))
        }
    }

    public func backlogHistory(site: String?, since: String) async throws -> [String: [BacklogPoint]] {
        try await with { db in
            let filter = site == nil ? "" : " AND site = ?"
            var out: [String: [BacklogPoint]] = [:]
            for r in try db.rows(
                "SELECT site, \(BacklogPoint.columns) FROM site_backlog WHERE at >= ?\(filter) ORDER BY site, at", [.text(since)] + (site.map { [.text($0)] } ?? []))
            {
                out[try r.text(0), default: []].append(try BacklogPoint(row: r.dropping(1)))
            }
            return out
        }
    }
}
