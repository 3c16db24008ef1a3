import TributaryProtocol
import TributarySQLite

/// Per-site state in the embedded catalog (schema in Fleet/SiteState.swift).
extension SQLiteCatalog {
    /// Migration 2: the per-site tables, with the counters of earlier commits filled in from
    /// `arrivals` (ingest lag starts counting at the upgrade).
    static let fleetMigration = """
        CREATE TABLE site_state(
            site TEXT PRIMARY KEY,
            last_seen TEXT,
            last_report_at TEXT,
            report TEXT,
            dropped_objects INTEGER NOT NULL DEFAULT 0,
            drops_changed_at TEXT,
            last_commit_at TEXT,
            objects_received INTEGER NOT NULL DEFAULT 0,
            bytes_received INTEGER NOT NULL DEFAULT 0,
            objects_stored INTEGER NOT NULL DEFAULT 0,
            bytes_stored INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            duplicate_bytes INTEGER NOT NULL DEFAULT 0,
            lag_count INTEGER NOT NULL DEFAULT 0,
            lag_sum REAL NOT NULL DEFAULT 0
        );
        CREATE TABLE site_lag(
            site TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY(site, bucket)
        );
        CREATE TABLE site_rejections(
            site TEXT NOT NULL,
            reason TEXT NOT NULL,
            count INTEGER NOT NULL,
            last_at TEXT NOT NULL,
            PRIMARY KEY(site, reason)
        );
        CREATE TABLE site_backlog(
            site TEXT NOT NULL,
            at TEXT NOT NULL,
            pending_objects INTEGER NOT NULL,
            pending_bytes INTEGER NOT NULL,
            PRIMARY KEY(site, at)
        );
        INSERT INTO site_state(site, last_seen, last_commit_at, objects_received, bytes_received, objects_stored, bytes_stored,
                               duplicates, duplicate_bytes)
        SELECT site, MAX(received_at), MAX(received_at), COUNT(*), SUM(size),
               SUM(status = 'stored'), SUM(CASE WHEN status = 'stored' THEN size ELSE 0 END),
               SUM(status = 'duplicate'), SUM(CASE WHEN status = 'duplicate' THEN size ELSE 0 END)
        FROM arrivals GROUP BY site;
        """

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

    public func recordHeartbeat(_ beat: HeartbeatRecord) async throws {
        try await with { db in
            try db.transaction {
                try db.query(
                    """
                    INSERT INTO site_state(site, last_seen, last_report_at, report, dropped_objects, drops_changed_at)
                    VALUES(?1, ?2, ?2, ?3, ?4, CASE WHEN ?4 > 0 THEN ?2 END)
                    ON CONFLICT(site) DO UPDATE SET
                        last_seen = max(COALESCE(site_state.last_seen, ''), excluded.last_seen),
                        last_report_at = excluded.last_report_at,
                        report = excluded.report,
                        drops_changed_at = CASE WHEN excluded.dropped_objects > site_state.dropped_objects
                                                THEN excluded.last_report_at ELSE site_state.drops_changed_at END,
                        dropped_objects = excluded.dropped_objects
                    """,
                    [.text(beat.site), .text(beat.receivedAt), .text(beat.reportJSON), .integer(beat.report.droppedObjects)])
                try db.query(
                    """
                    INSERT INTO site_backlog(site, at, pending_objects, pending_bytes) VALUES(?, ?, ?, ?)
                    ON CONFLICT(site, at) DO UPDATE SET pending_objects = excluded.pending_objects, pending_bytes = excluded.pending_bytes
                    """,
                    [.text(beat.site), .text(beat.historyAt), .integer(Int64(beat.report.pendingObjects)),
                     .integer(Int64(clamping: beat.report.pendingBytes))])
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
            let filter = site == nil ? "" : " WHERE s.site = ?"
            let params: [SQLValue] = site.map { [.text($0)] } ?? []
            var out: [SiteState] = []
            var index: [String: Int] = [:]
            for r in try db.query(
                """
                SELECT s.site, s.created_at, st.last_seen, st.last_report_at, st.report, st.drops_changed_at, st.last_commit_at,
                       st.objects_received, st.bytes_received, st.objects_stored, st.bytes_stored, st.duplicates, st.duplicate_bytes,
                       st.lag_count, st.lag_sum
                FROM sites s LEFT JOIN site_state st ON st.site = s.site\(filter) ORDER BY s.site
                """, params)
            {
                var s = SiteState(site: r[0].string ?? "", createdAt: r[1].string ?? "")
                s.lastSeen = r[2].string
                s.lastReportAt = r[3].string
                s.report = r[4].string.flatMap { try? JSON.decode(SiteReport.self, Array($0.utf8)) }
                s.dropsChangedAt = r[5].string
                s.lastCommitAt = r[6].string
                s.counters.objectsReceived = r[7].int ?? 0
                s.counters.bytesReceived = r[8].int ?? 0
                s.counters.objectsStored = r[9].int ?? 0
                s.counters.bytesStored = r[10].int ?? 0
                s.counters.duplicates = r[11].int ?? 0
                s.counters.duplicateBytes = r[12].int ?? 0
                s.lag.count = r[13].int ?? 0
                if case .real(let d) = r[14] { s.lag.sumSeconds = d } else if let i = r[14].int { s.lag.sumSeconds = Double(i) }
                index[s.site] = out.count
                out.append(s)
            }
            let byFilter = site == nil ? "" : " WHERE site = ?"
            for r in try db.query("SELECT site, bucket, count FROM site_lag\(byFilter)", params) {
                guard let i = index[r[0].string ?? ""], let b = r[1].int, b >= 0, Int(b) < out[i].lag.counts.count else { continue }
                out[i].lag.counts[Int(b)] = r[2].int ?? 0
            }
            for r in try db.query("SELECT site, reason, count FROM site_rejections\(byFilter)", params) {
                guard let i = index[r[0].string ?? ""] else { continue }
                out[i].rejections[r[1].string ?? ""] = r[2].int ?? 0
            }
            return out
        }
    }

    public func backlogHistory(site: String?, since: String) async throws -> [String: [BacklogPoint]] {
        try await with { db in
            var out: [String: [BacklogPoint]] = [:]
            let rows = try site.map {
                try db.query(
                    "SELECT site, at, pending_objects, pending_bytes FROM site_backlog WHERE site = ? AND at >= ? ORDER BY at", [.text($0), .text(since)])
            } ?? db.query("SELECT site, at, pending_objects, pending_bytes FROM site_backlog WHERE at >= ? ORDER BY site, at", [.text(since)])
            for r in rows {
                out[r[0].string ?? "", default: []].append(
                    BacklogPoint(at: r[1].string ?? "", pendingObjects: r[2].int ?? 0, pendingBytes: r[3].int ?? 0))
            }
            return out
        }
    }
}
