import PostgresNIO

// The catalog schema, PostgreSQL dialect: the same tables as SQLiteCatalog+Schema.swift (which
// holds the reference DDL and its rules) with BIGINT / DOUBLE PRECISION. Version N is
// `migrations[N-1]`, recorded in `schema_version`.

extension PostgresCatalog {
    static let migrations: [[String]] = [
        // 1: sites, objects, uploads, arrivals.
        [
            """
            CREATE TABLE sites(
                site TEXT PRIMARY KEY,
                token_sha256 TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE objects(
                site TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                size BIGINT NOT NULL,
                key TEXT NOT NULL,
                stored_at TEXT NOT NULL,
                upload_id TEXT NOT NULL,
                PRIMARY KEY(site, sha256)
            )
            """,
            """
            CREATE TABLE uploads(
                upload_id TEXT PRIMARY KEY,
                site TEXT NOT NULL,
                kind TEXT NOT NULL,
                length BIGINT NOT NULL,
                committed_at TEXT NOT NULL,
                receipt TEXT NOT NULL,
                manifested INTEGER NOT NULL DEFAULT 0
            )
            """,
            """
            CREATE TABLE arrivals(
                upload_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                site TEXT NOT NULL,
                stream TEXT NOT NULL,
                name TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                size BIGINT NOT NULL,
                captured_at TEXT NOT NULL,
                received_at TEXT NOT NULL,
                key TEXT NOT NULL,
                status TEXT NOT NULL CHECK(status IN ('stored','duplicate')),
                PRIMARY KEY(upload_id, seq)
            )
            """,
            "CREATE INDEX arrivals_site_received ON arrivals(site, received_at)",
            "CREATE INDEX uploads_unmanifested ON uploads(manifested) WHERE manifested = 0",
        ],
        // 2: per-site state, with the counters of earlier commits filled in from `arrivals`.
        [
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
        ],
        // 3: site credentials.
        CatalogSchema.credentialStatements,
        // 4: relays and provenance (RelayGrant.swift).
        RelayGrant.migrationStatements,
        // 5: commit order, forward cursors, origin and path of forwarded uploads (ForwardCursor.swift).
        ForwardSchema.migrationStatements,
    ]
}
