import TributarySQLite

// The catalog schema, SQLite dialect: the one place its DDL is written (PostgreSQL's dialect is
// PostgresCatalog+Schema.swift; the comments in Catalog.swift, Fleet/SiteState.swift and
// SiteCredential.swift and docs/LAKE.md describe what the tables mean and point here).
// `migrations[i]` brings `PRAGMA user_version` from i to i + 1; a released migration is never
// edited, only followed by a new one (a catalog written by an older core must keep opening).

extension SQLiteCatalog {
    static let migrations = [
        // 1: sites, objects, uploads, arrivals.
        """
        CREATE TABLE sites(
            site TEXT PRIMARY KEY,
            token_sha256 TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        );
        CREATE TABLE objects(
            site TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            key TEXT NOT NULL,
            stored_at TEXT NOT NULL,
            upload_id TEXT NOT NULL,
            PRIMARY KEY(site, sha256)
        );
        CREATE TABLE uploads(
            upload_id TEXT PRIMARY KEY,
            site TEXT NOT NULL,
            kind TEXT NOT NULL,
            length INTEGER NOT NULL,
            committed_at TEXT NOT NULL,
            receipt TEXT NOT NULL,
            manifested INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE arrivals(
            upload_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            site TEXT NOT NULL,
            stream TEXT NOT NULL,
            name TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            captured_at TEXT NOT NULL,
            received_at TEXT NOT NULL,
            key TEXT NOT NULL,
            status TEXT NOT NULL CHECK(status IN ('stored','duplicate')),
            PRIMARY KEY(upload_id, seq)
        );
        CREATE INDEX arrivals_site_received ON arrivals(site, received_at);
        CREATE INDEX uploads_unmanifested ON uploads(manifested) WHERE manifested = 0;
        """,
        // 2: per-site state, with the counters of earlier commits filled in from `arrivals`
        // (ingest lag starts counting at the upgrade).
        """
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
        """,
        // 3: site credentials (the same statements in both dialects).
        CatalogSchema.credentialStatements.joined(separator: ";\n") + ";",
        // 4: relays and provenance (RelayGrant.swift).
        RelayGrant.migrationStatements.joined(separator: ";\n") + ";",
        // 5: commit order, forward cursors, origin and path of forwarded uploads (ForwardCursor.swift).
        ForwardSchema.migrationStatements.joined(separator: ";\n") + ";",
    ]
}

/// Statements written the same in both dialects.
enum CatalogSchema {
    /// Schema version 3: site credentials (SiteCredential.swift), every site's token copied in.
    static let credentialStatements = [
        """
        CREATE TABLE site_credentials(
            kind TEXT NOT NULL CHECK(kind IN ('token','cert-subject','cert-fingerprint')),
            value TEXT NOT NULL,
            site TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT,
            PRIMARY KEY(kind, value)
        )
        """,
        "CREATE INDEX site_credentials_site ON site_credentials(site)",
        "INSERT INTO site_credentials(kind, value, site, created_at) SELECT 'token', token_sha256, site, created_at FROM sites",
    ]
}
