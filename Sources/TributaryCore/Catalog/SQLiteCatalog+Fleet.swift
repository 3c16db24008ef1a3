import TributaryProtocol
import TributarySQLite

/// Per-site state in the embedded catalog (schema in Fleet/SiteState.swift).
extension SQLiteCatalog {
    /// Adds a commit's tally to its site; runs inside the commit's transaction.
    static func recordTally(_ db: SQLiteDatabase, site: String, at: String, _ t: SiteTally) throws {
        let c = t.counters
        try db.query(
            """
            INSERT INTO site_state(site, last_seen, last_commit_at, objects_received, bytes_received, objects_stored, bytes_stored,
                                   duplicates, duplicate_bytes, lag_count, lag_sum)
            VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(site) DO UPDATE SET
                last_seen = max(COALESCE(site_state.last_seen, ''), excluded.last_seen),
                last_commit_at = max(COALESCE(site_state.last_commit_at, ''), excluded.last_commit_at),
                objects_received = site_state.objects_received + excluded.objects_received,
                bytes_received = site_state.bytes_received + excluded.bytes_received,
                objects_stored = site_state.objects_stored + excluded.objects_stored,
                bytes_stored = site_state.bytes_stored + excluded.bytes_stored,
                duplicates = site_state.duplicates + excluded.duplicates,
                duplicate_bytes = site_state.duplicate_bytes + excluded.duplicate_bytes,
                lag_count = site_state.lag_count + excluded.lag_count,
                lag_sum = site_state.lag_sum + excluded.lag_sum
            """,
            [.text(site), .text(at), .text(at), .integer(c.objectsReceived), .integer(c.bytesReceived), .integer(c.objectsStored),
             .integer(c.bytesStored), .integer(c.duplicates), .integer(c.duplicateBytes), .integer(t.lag.count), .real(t.lag.sumSeconds)])
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
                try db.query(
                    """
                    INSERT INTO site_state(site, last_seen, last_report_at, report, dropped_objects, drops_changed_at)
                    VALUES(?1, ?2, ?2, ?3, ?4, ?5)
                    ON CONFLICT(site) DO UPDATE SET
                        last_seen = max(COALESCE(site_state.last_seen, ''), excluded.last_seen),
                        last_report_at = excluded.last_report_at,
                        report = excluded.report,
                        dropped_objects = excluded.dropped_objects,
                        drops_changed_at = excluded.drops_changed_at
                    """,
                    [.text(beat.site), .text(beat.receivedAt), .text(beat.reportJSON), .integer(counter.count),
                     counter.changedAt.map(SQLValue.text) ?? .null])
                try db.query(
                    """
                    INSERT INTO site_backlog(site, at, pending_objects, pending_bytes) VALUES(?, ?, ?, ?)
                    ON CONFLICT(site, at) DO UPDATE SET pending_objects = excluded.pending_objects, pending_bytes = excluded.pending_bytes
                    """,
                    [.text(beat.site), .text(beat.historyAt), .integer(beat.point.pendingObjects), .integer(beat.point.pendingBytes)])
                try db.query("DELETE FROM site_backlog WHERE site = ? AND at < ?", [.text(beat.site), .text(beat.historyKeepFrom)])
            }
        }
    }

    public func recordRejection(site: String, reason: String, count: Int, at: String) async throws {
        try await with { db in
            try db.transaction {
                try db.query(
                    """
                    INSERT INTO site_rejections(site, reason, count, last_at) VALUES(?, ?, ?, ?)
                    ON CONFLICT(site, reason) DO UPDATE SET count = site_rejections.count + excluded.count, last_at = excluded.last_at
                    """, [.text(site), .text(reason), .integer(Int64(count)), .text(at)])
                try db.query(
                    """
                    INSERT INTO site_state(site, last_seen) VALUES(?, ?)
                    ON CONFLICT(site) DO UPDATE SET last_seen = max(COALESCE(site_state.last_seen, ''), excluded.last_seen)
                    """, [.text(site), .text(at)])
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
