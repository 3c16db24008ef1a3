import Logging
import PostgresNIO
import ServiceLifecycle
import TributaryProtocol

/// The shared catalog of a scaled-out core: one PostgreSQL database that every core node (and
/// `tributary-core sites add`) talks to. Same schema and semantics as `SQLiteCatalog` (see
/// Catalog.swift), with these PostgreSQL specifics:
///
/// - Migrations are numbered statements recorded in `schema_version`; they run at open inside
///   one transaction under an advisory lock, so nodes starting together migrate once.
/// - A commit is one `READ COMMITTED` transaction. The dedup rule is the `objects(site, sha256)`
///   primary key: new objects are inserted with `ON CONFLICT DO NOTHING RETURNING sha256`, and a
///   content another node stored meanwhile (the insert waited for that node's transaction, then
///   returned nothing) is re-resolved as a duplicate of the stored key, whose own placement the
///   committer removes. Commits of the same upload id are serialized by a transaction-scoped
///   advisory lock, so the second finds the first's receipt.
/// - Every call runs under a deadline (`timeout`); an unreachable or silent server, a dropped
///   connection or a timeout becomes `TributaryError(.io)` (503 + Retry-After). The pool
///   reconnects by itself when the server is back.
///
/// The client's connection pool needs a running task: `run()` (this is a `Service`).
public final class PostgresCatalog: Catalog, Service {
    public let client: PostgresClient
    public let searchPath: String?
    let timeout: Double
    let logger: Logger

    /// Seed of the migration step's advisory lock ("tributary" in ASCII, truncated). The key is
    /// this seed hashed with the schema the catalog lives in, so nodes sharing one catalog take
    /// turns while catalogs in other schemas of the same database (the tests' per-catalog
    /// schemas) do not wait on each other.
    static let migrationLock: Int64 = 0x7472_6962_7574_6172

    /// `searchPath`: the schema the catalog's tables live in (tests give each catalog its own).
    public init(url: PostgresURL, timeout: Double = 10, maxConnections: Int = 16, searchPath: String? = nil, logger: Logger) {
        var config = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: url.tls)
        if let searchPath { config.options.additionalStartupParameters = [("search_path", searchPath)] }
        config.options.connectTimeout = .milliseconds(Int64(min(timeout, 10) * 1000))
        config.options.maximumConnections = maxConnections
        config.options.keepAliveBehavior = .init(frequency: .seconds(15))
        self.client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.searchPath = searchPath
        self.timeout = timeout
        self.logger = logger
    }

    /// Runs the connection pool until cancelled (or graceful shutdown).
    public func run() async throws {
        await client.run()
    }

    /// Brings the schema up to date. Call once the pool runs.
    public func migrate() async throws {
        try await migrate(upTo: Self.migrations.count)
    }

    /// Brings the schema up to version `target` (tests of an upgrade stop at an older one).
    func migrate(upTo target: Int) async throws {
        try await call("migrate") { [client, logger] in
            try await client.withTransaction(logger: logger) { conn in
                try await conn.query("SELECT pg_advisory_xact_lock(hashtextextended(coalesce(current_schema(), ''), \(Self.migrationLock)))", logger: logger)
                try await conn.query("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)", logger: logger)
                var current = 0
                for try await v in try await conn.query("SELECT max(version) FROM schema_version", logger: logger).decode(Int?.self) {
                    current = v ?? 0
                }
                guard current <= Self.migrations.count else {
                    throw TributaryError(.io, "catalog schema version \(current) is newer than this tributary-core knows (\(Self.migrations.count))")
                }
                for version in (current + 1)..<(max(current, target) + 1) {
                    for statement in Self.migrations[version - 1] {
                        try await conn.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await conn.query("INSERT INTO schema_version(version) VALUES (\(version))", logger: logger)
                }
            }
        }
    }

    /// Runs one catalog call under the deadline and turns backend failures into `.io` errors.
    func call<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await Deadline.run(seconds: timeout, "catalog (\(what))", body)
        } catch let e as TributaryError {
            throw e
        } catch let e as SiteExistsError {
            throw e
        } catch let e as UnknownSiteError {
            throw e
        } catch let e as CredentialExistsError {
            throw e
        } catch is CancellationError {
            throw CancellationError()
        } catch let e as PSQLError {
            throw TributaryError(.io, "catalog unavailable (\(what)): \(Self.describe(e))")
        } catch {
            throw TributaryError(.io, "catalog unavailable (\(what)): \(error)")
        }
    }

    static func describe(_ e: PSQLError) -> String {
        if let m = e.serverInfo?[.message] { return "\(e.code): \(m)" }
        if let u = e.underlying { return "\(e.code): \(u)" }
        return "\(e.code)"
    }

    public func addSite(_ site: String, tokenSHA256: String?, createdAt: String) async throws {
        try await call("add site") { [client, logger] in
            do {
                try await client.withTransaction(logger: logger) { conn in
                    try await conn.query(
                        "INSERT INTO sites(site, token_sha256, created_at) VALUES (\(site), \(tokenSHA256 ?? SiteCredential.noToken(site)), \(createdAt))",
                        logger: logger)
                    if let tokenSHA256 {
                        try await Self.insert(SiteCredential(site: site, kind: .token, value: tokenSHA256, createdAt: createdAt), on: conn, logger: logger)
                    }
                }
            } catch let e as PostgresTransactionError {
                if let q = e.closureError as? PSQLError, q.serverInfo?[.sqlState] == "23505" { throw SiteExistsError(site: site) }
                throw e.closureError ?? (e as any Error)
            }
        }
    }

    public func sites() async throws -> [SiteRecord] {
        try await call("sites") { [client, logger] in
            try await client.query("SELECT \(unescaped: SiteRecord.columns) FROM sites ORDER BY site", logger: logger).catalogRows()
                .map(SiteRecord.init(row:))
        }
    }

    public func held(site: String, hashes: [String]) async throws -> Set<String> {
        if hashes.isEmpty { return [] }
        return try await call("held") { [client, logger] in
            var out = Set<String>()
            let rows = try await client.query("SELECT sha256 FROM objects WHERE site = \(site) AND sha256 = ANY(\(hashes))", logger: logger)
            for try await sha in rows.decode(String.self) { out.insert(sha) }
            return out
        }
    }

    public func object(site: String, sha256: String) async throws -> StoredObject? {
        try await call("object") { [client, logger] in
            try await client.query(
                "SELECT \(unescaped: StoredObject.columns) FROM objects WHERE site = \(site) AND sha256 = \(sha256)", logger: logger
            ).catalogRows().first.map(StoredObject.init(row:))
        }
    }

    public func commit(_ record: CommitRecord) async throws -> CommitOutcome {
        try await call("commit") { [client, logger] in
            try await client.withTransaction(logger: logger) { conn in
                try await Self.commit(record, on: conn, logger: logger)
            }
        }
    }

    static func commit(_ record: CommitRecord, on conn: PostgresConnection, logger: Logger) async throws -> CommitOutcome {
        try await conn.query("SELECT pg_advisory_xact_lock(hashtext(\(record.uploadID)))", logger: logger)
        if let existing = try await conn.query(
            "SELECT \(unescaped: StoredReceipt.columns) FROM uploads WHERE upload_id = \(record.uploadID)", logger: logger
        ).catalogRows().first {
            return try CommitOutcome(existing: StoredReceipt(row: existing))
        }

        // Keys the site already holds for these contents (this statement's snapshot).
        let shas = Array(Set(record.arrivals.map(\.sha256)))
        var existing: [String: String] = [:]
        for try await (sha, key) in try await conn.query(
            "SELECT sha256, key FROM objects WHERE site = \(record.site) AND sha256 = ANY(\(shas))", logger: logger
        ).decode((String, String).self) {
            existing[sha] = key
        }
        // Insert what is new; a content another transaction stored meanwhile conflicts, is read
        // back (a new statement sees the other commit) and the arrival re-resolved. Two rounds at
        // most: the second inserts nothing new.
        var inserted = Set<String>()
        var resolved = try record.resolve { existing[$0] }
        for _ in 0..<2 {
            let fresh = resolved.newObjects.filter { !inserted.contains($0.sha256) }
            if fresh.isEmpty { break }
            var won = Set<String>()
            let rows = try await conn.query(
                """
                INSERT INTO objects(site, sha256, size, key, stored_at, upload_id)
                SELECT \(record.site), t.sha256, t.size, t.key, \(record.committedAt), \(record.uploadID)
                FROM UNNEST(\(fresh.map(\.sha256))::text[], \(fresh.map { Int64($0.size) })::bigint[], \(fresh.map(\.key))::text[])
                    AS t(sha256, size, key)
                ON CONFLICT (site, sha256) DO NOTHING
                RETURNING sha256
                """, logger: logger)
            for try await sha in rows.decode(String.self) { won.insert(sha) }
            inserted.formUnion(won)
            let lost = fresh.map(\.sha256).filter { !won.contains($0) }
            if lost.isEmpty { break }
            for try await (sha, key) in try await conn.query(
                "SELECT sha256, key FROM objects WHERE site = \(record.site) AND sha256 = ANY(\(lost))", logger: logger
            ).decode((String, String).self) {
                existing[sha] = key
            }
            resolved = try record.resolve { existing[$0] }
        }

        let a = resolved.arrivals
        try await conn.query(
            """
            INSERT INTO arrivals(\(unescaped: ArrivalRecord.columns))
            SELECT u, q, si, st, n, h, z, c, rv, k, x, NULLIF(r, '') FROM UNNEST(\(a.map(\.uploadID))::text[], \(a.map { Int32($0.seq) })::integer[], \(a.map(\.site))::text[],
                \(a.map(\.stream))::text[], \(a.map(\.name))::text[], \(a.map(\.sha256))::text[], \(a.map { Int64($0.size) })::bigint[],
                \(a.map(\.capturedAt))::text[], \(a.map(\.receivedAt))::text[], \(a.map(\.key))::text[], \(a.map(\.status.rawValue))::text[],
                \(a.map { $0.relay ?? "" })::text[]) AS t(u, q, si, st, n, h, z, c, rv, k, x, r)
            """, logger: logger)
        try await recordTally(conn, site: record.site, at: record.committedAt, SiteTally(arrivals: a), logger: logger)
        let receipt = record.receipt(for: a)
        let json = try JSON.encode(receipt)
        let text = String(decoding: json, as: UTF8.self)
        try await conn.query(
            """
            INSERT INTO uploads(upload_id, site, kind, length, committed_at, receipt, manifested)
            VALUES (\(record.uploadID), \(record.site), \(record.kind.rawValue), \(Int64(record.length)), \(record.committedAt), \(text), 0)
            """, logger: logger)
        return CommitOutcome(receipt: receipt, receiptJSON: json, orphanedKeys: resolved.orphans)
    }

    public func receipt(uploadID: String) async throws -> StoredReceipt? {
        try await call("receipt") { [client, logger] in
            try await client.query("SELECT \(unescaped: StoredReceipt.columns) FROM uploads WHERE upload_id = \(uploadID)", logger: logger)
                .catalogRows().first.map(StoredReceipt.init(row:))
        }
    }

    public func pendingManifests() async throws -> [PendingManifest] {
        try await call("unmanifested") { [client, logger] in
            // One snapshot: an upload and its arrivals are committed together.
            try await client.withTransaction(logger: logger) { conn in
                var out: [PendingManifest] = []
                for row in try await conn.query(
                    "SELECT \(unescaped: PendingManifest.columns) FROM uploads WHERE manifested = 0", logger: logger
                ).catalogRows() {
                    var p = try PendingManifest(row: row)
                    p.arrivals = try await conn.query(
                        "SELECT \(unescaped: ArrivalRecord.columns) FROM arrivals WHERE upload_id = \(p.uploadID)", logger: logger
                    ).catalogRows().map(ArrivalRecord.init(row:))
                    out.append(p)
                }
                return out
            }
        }
    }

    public func markManifested(uploadID: String) async throws {
        try await call("mark manifested") { [client, logger] in
            _ = try await client.query("UPDATE uploads SET manifested = 1 WHERE upload_id = \(uploadID)", logger: logger)
        }
    }

    public func check() async throws {
        try await call("check") { [client, logger] in
            _ = try await client.query("SELECT 1", logger: logger)
        }
    }
}
