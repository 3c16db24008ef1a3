import TributaryProtocol

// Forwarding (issue 12, docs/REPLICATION.md "Forwarding"). Schema version 5, the same statements
// in both dialects:
//
//   uploads.commit_seq BIGINT UNIQUE   -- 1, 2, 3 … in commit order, no gaps (NULL never after v5)
//   uploads.origin TEXT NULL           -- the core the upload's arrivals entered the system at
//   uploads.path TEXT NULL             -- the cores they passed through before this one, comma-separated
//   catalog_counters(name TEXT PRIMARY KEY, value BIGINT)   -- 'commit_seq': the last one given
//   forward_targets(target TEXT PRIMARY KEY, position BIGINT, updated_at TEXT,
//                   last_success_at TEXT NULL, set_aside BIGINT)
//   forward_set_aside(target, commit_seq, upload_id, reason, at)   -- what was given up, and why
//
// Invariants:
// - `commit_seq` is taken from `catalog_counters` inside the commit's transaction, as its last
//   statement but one: the counter row's lock orders concurrent commits (PostgreSQL nodes), so
//   sequence order is commit order and a rolled-back commit gives its number back. A reader
//   that sees upload n therefore sees every upload before n: a cursor can never skip one.
// - `forward_targets.position` is the highest commit_seq whose upload the target acknowledged
//   (its receipt named every arrival) or that was set aside (a `forward_set_aside` row, counted
//   in `set_aside`). It only moves forward, and only after the upstream's receipt: a crash
//   between the upstream's commit and the advance re-sends one upload, which the upstream's
//   per-site dedup makes a `duplicate` (no second copy of any content).

/// One committed upload to forward: the original arrival group, with what it was filed as.
public struct ForwardItem: Sendable, Equatable {
    public var seq: Int64
    public var uploadID: String
    public var site: String
    public var committedAt: String
    /// The core the arrivals first entered at, and the cores they passed before this one
    /// (Forward/CorePath.swift); nil / empty for an edge's own upload to this core.
    public var origin: String?
    public var path: [String]
    /// In the upload's manifest order.
    public var arrivals: [ArrivalRecord]

    public init(seq: Int64, uploadID: String, site: String, committedAt: String, origin: String?, path: [String], arrivals: [ArrivalRecord]) {
        self.seq = seq
        self.uploadID = uploadID
        self.site = site
        self.committedAt = committedAt
        self.origin = origin
        self.path = path
        self.arrivals = arrivals
    }
}

/// Where a target's forwarding stands.
public struct ForwardCursor: Sendable, Equatable {
    public var target: String
    /// The highest commit_seq acknowledged or set aside (0: nothing yet).
    public var position: Int64
    public var lastSuccessAt: String?
    public var setAside: Int64

    public init(target: String, position: Int64 = 0, lastSuccessAt: String? = nil, setAside: Int64 = 0) {
        self.target = target
        self.position = position
        self.lastSuccessAt = lastSuccessAt
        self.setAside = setAside
    }
}

/// What is committed but not yet forwarded past a position.
public struct ForwardBacklog: Sendable, Equatable {
    public var uploads: Int64 = 0
    public var objects: Int64 = 0
    public var bytes: Int64 = 0
    /// committed_at of the oldest upload not forwarded; nil when caught up.
    public var oldestCommittedAt: String?

    public init(uploads: Int64 = 0, objects: Int64 = 0, bytes: Int64 = 0, oldestCommittedAt: String? = nil) {
        self.uploads = uploads
        self.objects = objects
        self.bytes = bytes
        self.oldestCommittedAt = oldestCommittedAt
    }
}

/// An upload the forwarder gave up on, with its reason.
public struct ForwardSetAside: Sendable, Equatable {
    public var seq: Int64
    public var uploadID: String
    public var reason: String
}

enum ForwardSchema {
    /// Schema version 5 (both dialects). Uploads committed before it are numbered in
    /// (committed_at, upload_id) order, so a forwarder configured later sends them too.
    static let migrationStatements = [
        "ALTER TABLE uploads ADD COLUMN commit_seq BIGINT",
        "ALTER TABLE uploads ADD COLUMN origin TEXT",
        "ALTER TABLE uploads ADD COLUMN path TEXT",
        """
        UPDATE uploads SET commit_seq = r.n
        FROM (SELECT upload_id, ROW_NUMBER() OVER (ORDER BY committed_at, upload_id) AS n FROM uploads) AS r
        WHERE r.upload_id = uploads.upload_id
        """,
        "CREATE UNIQUE INDEX uploads_commit_seq ON uploads(commit_seq)",
        "CREATE TABLE catalog_counters(name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        "INSERT INTO catalog_counters(name, value) SELECT 'commit_seq', COALESCE(MAX(commit_seq), 0) FROM uploads",
        """
        CREATE TABLE forward_targets(
            target TEXT PRIMARY KEY,
            position BIGINT NOT NULL,
            updated_at TEXT NOT NULL,
            last_success_at TEXT,
            set_aside BIGINT NOT NULL DEFAULT 0
        )
        """,
        """
        CREATE TABLE forward_set_aside(
            target TEXT NOT NULL,
            commit_seq BIGINT NOT NULL,
            upload_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY(target, commit_seq)
        )
        """,
    ]

    /// Takes the next commit_seq (inside the commit's transaction).
    static func nextSeq(_ d: SQLDialect) -> String {
        "UPDATE catalog_counters SET value = value + 1 WHERE name = 'commit_seq' RETURNING value"
    }

    static let itemColumns = "commit_seq, upload_id, site, committed_at, origin, path"
    static let cursorColumns = "target, position, last_success_at, set_aside"

    /// The uploads after `position`, oldest first.
    static func items(_ d: SQLDialect) -> String {
        "SELECT \(itemColumns) FROM uploads WHERE commit_seq > \(d.p(1)) ORDER BY commit_seq LIMIT \(d.p(2))"
    }

    static func backlog(_ d: SQLDialect) -> String {
        """
        SELECT COUNT(DISTINCT u.upload_id), COUNT(a.upload_id), CAST(COALESCE(SUM(a.size), 0) AS BIGINT), MIN(u.committed_at)
        FROM uploads u LEFT JOIN arrivals a ON a.upload_id = u.upload_id WHERE u.commit_seq > \(d.p(1))
        """
    }

    /// Moves the cursor to `position` (never back), marking a success or counting a set-aside.
    static func advance(_ d: SQLDialect, success: Bool) -> String {
        let newer = d == .sqlite ? "max(forward_targets.position, excluded.position)" : "GREATEST(forward_targets.position, excluded.position)"
        return """
            INSERT INTO forward_targets(target, position, updated_at, last_success_at, set_aside)
            VALUES (\(d.p(1)), \(d.p(2)), \(d.p(3)), \(success ? d.p(3) : "NULL"), \(success ? "0" : "1"))
            ON CONFLICT (target) DO UPDATE SET position = \(newer), updated_at = excluded.updated_at,
                last_success_at = \(success ? "excluded.last_success_at" : "forward_targets.last_success_at"),
                set_aside = forward_targets.set_aside + excluded.set_aside
            """
    }

    static func setAside(_ d: SQLDialect) -> String {
        """
        INSERT INTO forward_set_aside(target, commit_seq, upload_id, reason, at) VALUES (\(d.p(1)), \(d.p(2)), \(d.p(3)), \(d.p(4)), \(d.p(5)))
        ON CONFLICT (target, commit_seq) DO NOTHING
        """
    }

    /// The stored form of a path.
    static func pathText(_ path: [String]) -> String? { path.isEmpty ? nil : path.joined(separator: ",") }
    static func path(_ text: String?) -> [String] { text.map { $0.split(separator: ",").map(String.init) } ?? [] }
}

extension ForwardItem {
    /// A row of `ForwardSchema.itemColumns`, arrivals not yet read.
    init(row: some CatalogRow) throws {
        self.init(
            seq: try row.integer(0), uploadID: try row.text(1), site: try row.text(2), committedAt: try row.text(3),
            origin: try row.textOrNil(4), path: ForwardSchema.path(try row.textOrNil(5)), arrivals: [])
    }
}

extension ForwardCursor {
    init(row: some CatalogRow) throws {
        self.init(target: try row.text(0), position: try row.integer(1), lastSuccessAt: try row.textOrNil(2), setAside: try row.integer(3))
    }
}

extension ForwardBacklog {
    init(row: some CatalogRow) throws {
        self.init(uploads: try row.integer(0), objects: try row.integer(1), bytes: try row.integer(2), oldestCommittedAt: try row.textOrNil(3))
    }
}
