import Logging
import PostgresNIO
import TributaryProtocol

/// Per-site state in the shared catalog (schema in Fleet/SiteState.swift). Every update is an
/// upsert that adds to the stored value, so nodes never lose each other's increments.
extension PostgresCatalog {
    /// Schema version 2: the per-site tables, with the counters of earlier commits filled in from
    /// `arrivals` (ingest lag starts counting at the upgrade).
    static let fleetMigration: [String] = [
        """
        CREATE TABLE site_state(
            site TEXT PRIMARY KEY,
            last_seen TEXT,
            last_report_at TEXT,
            report TEXT,
            dropped_objects BIGINT NOT NULL DEFAULT 0,
            drops_changed_at TEXT,
            last_commit_at TEXT,
            objects_received BIGINT NOT NULL DEFAULT 0,
            bytes_received BIGINT NOT NULL DEFAULT 0,
            objects_stored BIGINT NOT NULL DEFAULT 0,
            bytes_stored BIGINT NOT NULL DEFAULT 0,
            duplicates BIGINT NOT NULL DEFAULT 0,
            duplicate_bytes BIGINT NOT NULL DEFAULT 0,
            lag_count BIGINT NOT NULL DEFAULT 0,
            lag_sum DOUBLE PRECISION NOT NULL DEFAULT 0
        )
        """,
        """
        CREATE TABLE site_lag(
            site TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            count BIGINT NOT NULL,
            PRIMARY KEY(site, bucket)
        )
        """,
        """
        CREATE TABLE site_rejections(
            site TEXT NOT NULL,
            reason TEXT NOT NULL,
            count BIGINT NOT NULL,
            last_at TEXT NOT NULL,
            PRIMARY KEY(site, reason)
        )
        """,
        """
        CREATE TABLE site_backlog(
            site TEXT NOT NULL,
            at TEXT NOT NULL,
            pending_objects BIGINT NOT NULL,
            pending_bytes BIGINT NOT NULL,
            PRIMARY KEY(site, at)
        )
        """,
        """
        INSERT INTO site_state(site, last_seen, last_commit_at, objects_received, bytes_received, objects_stored, bytes_stored,
                               duplicates, duplicate_bytes)
        SELECT site, MAX(received_at), MAX(received_at), COUNT(*), SUM(size),
               COUNT(*) FILTER (WHERE status = 'stored'), COALESCE(SUM(size) FILTER (WHERE status = 'stored'), 0),
               COUNT(*) FILTER (WHERE status = 'duplicate'), COALESCE(SUM(size) FILTER (WHERE status = 'duplicate'), 0)
        FROM arrivals GROUP BY site
        """,
    ]

    /// Adds a commit's tally to its site; runs inside the commit's transaction, after the
    /// upload's own rows (site_state, then site_lag by ascending bucket: one lock order for all).
    static func recordTally(_ conn: PostgresConnection, site: String, at: String, _ t: SiteTally, logger: Logger) async throws {
        let c = t.counters
        try await conn.query(
            """
            INSERT INTO site_state(site, last_seen, last_commit_at, objects_received, bytes_received, objects_stored, bytes_stored,
                                   duplicates, duplicate_bytes, lag_count, lag_sum)
            VALUES (\(site), \(at), \(at), \(c.objectsReceived), \(c.bytesReceived), \(c.objectsStored), \(c.bytesStored),
                    \(c.duplicates), \(c.duplicateBytes), \(t.lag.count), \(t.lag.sumSeconds))
            ON CONFLICT (site) DO UPDATE SET
                last_seen = GREATEST(site_state.last_seen, excluded.last_seen),
                last_commit_at = GREATEST(site_state.last_commit_at, excluded.last_commit_at),
                objects_received = site_state.objects_received + excluded.objects_received,
                bytes_received = site_state.bytes_received + excluded.bytes_received,
                objects_stored = site_state.objects_stored + excluded.objects_stored,
                bytes_stored = site_state.bytes_stored + excluded.bytes_stored,
                duplicates = site_state.duplicates + excluded.duplicates,
                duplicate_bytes = site_state.duplicate_bytes + excluded.duplicate_bytes,
                lag_count = site_state.lag_count + excluded.lag_count,
                lag_sum = site_state.lag_sum + excluded.lag_sum
            """, logger: logger)
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

    public func recordHeartbeat(_ beat: HeartbeatRecord) async throws {
        try await call("heartbeat") { [client, logger] in
            try await client.withTransaction(logger: logger) { conn in
                let (site, at, json, dropped) = (beat.site, beat.receivedAt, beat.reportJSON, beat.report.droppedObjects)
                let firstDropAt: String? = dropped > 0 ? at : nil
                try await conn.query(
                    """
                    INSERT INTO site_state(site, last_seen, last_report_at, report, dropped_objects, drops_changed_at)
                    VALUES (\(site), \(at), \(at), \(json), \(dropped), \(firstDropAt))
                    ON CONFLICT (site) DO UPDATE SET
                        last_seen = GREATEST(site_state.last_seen, excluded.last_seen),
                        last_report_at = excluded.last_report_at,
                        report = excluded.report,
                        drops_changed_at = CASE WHEN excluded.dropped_objects > site_state.dropped_objects
                                                THEN excluded.last_report_at ELSE site_state.drops_changed_at END,
                        dropped_objects = excluded.dropped_objects
                    """, logger: logger)
                let (point, keep) = (beat.historyAt, beat.historyKeepFrom)
                let (objects, bytes) = (Int64(beat.report.pendingObjects), Int64(clamping: beat.report.pendingBytes))
                try await conn.query(
                    """
                    INSERT INTO site_backlog(site, at, pending_objects, pending_bytes) VALUES (\(site), \(point), \(objects), \(bytes))
                    ON CONFLICT (site, at) DO UPDATE SET pending_objects = excluded.pending_objects, pending_bytes = excluded.pending_bytes
                    """, logger: logger)
                try await conn.query("DELETE FROM site_backlog WHERE site = \(site) AND at < \(keep)", logger: logger)
            }
        }
    }

    public func recordRejection(site: String, reason: String, count: Int, at: String) async throws {
        try await call("rejection") { [client, logger] in
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query(
                    """
                    INSERT INTO site_rejections(site, reason, count, last_at) VALUES (\(site), \(reason), \(Int64(count)), \(at))
                    ON CONFLICT (site, reason) DO UPDATE SET count = site_rejections.count + excluded.count, last_at = excluded.last_at
                    """, logger: logger)
                try await conn.query(
                    """
                    INSERT INTO site_state(site, last_seen) VALUES (\(site), \(at))
                    ON CONFLICT (site) DO UPDATE SET last_seen = GREATEST(site_state.last_seen, excluded.last_seen)
                    """, logger: logger)
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
        var out: [SiteState] = []
        var index: [String: Int] = [:]
        let rows = try await conn.query(
            """
            SELECT s.site, s.created_at, st.last_seen, st.last_report_at, st.report, st.drops_changed_at, st.last_commit_at,
                   st.objects_received, st.bytes_received, st.objects_stored, st.bytes_stored, st.duplicates, st.duplicate_bytes,
                   st.lag_count, st.lag_sum
            FROM sites s LEFT JOIN site_state st ON st.site = s.site
            WHERE \(site)::text IS NULL OR s.site = \(site) ORDER BY s.site
            """, logger: logger)
        for try await (name, created, seen, reportAt, report, dropsAt, commitAt, or, br, os, bs, d, db, lc, ls) in rows.decode(
            (String, String, String?, String?, String?, String?, String?, Int64?, Int64?, Int64?, Int64?, Int64?, Int64?, Int64?, Double?).self)
        {
            var s = SiteState(site: name, createdAt: created)
            s.lastSeen = seen
            s.lastReportAt = reportAt
            s.report = report.flatMap { try? JSON.decode(SiteReport.self, Array($0.utf8)) }
            s.dropsChangedAt = dropsAt
            s.lastCommitAt = commitAt
            s.counters.objectsReceived = or ?? 0
            s.counters.bytesReceived = br ?? 0
            s.counters.objectsStored = os ?? 0
            s.counters.bytesStored = bs ?? 0
            s.counters.duplicates = d ?? 0
            s.counters.duplicateBytes = db ?? 0
            s.lag.count = lc ?? 0
            s.lag.sumSeconds = ls ?? 0
            index[name] = out.count
            out.append(s)
        }
        for try await (name, bucket, count) in try await conn.query(
            "SELECT site, bucket, count FROM site_lag WHERE \(site)::text IS NULL OR site = \(site)", logger: logger
        ).decode((String, Int32, Int64).self) {
            guard let i = index[name], bucket >= 0, Int(bucket) < out[i].lag.counts.count else { continue }
            out[i].lag.counts[Int(bucket)] = count
        }
        for try await (name, reason, count) in try await conn.query(
            "SELECT site, reason, count FROM site_rejections WHERE \(site)::text IS NULL OR site = \(site)", logger: logger
        ).decode((String, String, Int64).self) {
            guard let i = index[name] else { continue }
            out[i].rejections[reason] = count
        }
        return out
    }

    public func backlogHistory(site: String?, since: String) async throws -> [String: [BacklogPoint]] {
        try await call("backlog history") { [client, logger] in
            var out: [String: [BacklogPoint]] = [:]
            let rows = try await client.query(
                """
                SELECT site, at, pending_objects, pending_bytes FROM site_backlog
                WHERE (\(site)::text IS NULL OR site = \(site)) AND at >= \(since) ORDER BY site, at
                """, logger: logger)
            for try await (name, at, objects, bytes) in rows.decode((String, String, Int64, Int64).self) {
                out[name, default: []].append(BacklogPoint(at: at, pendingObjects: objects, pendingBytes: bytes))
            }
            return out
        }
    }
}
