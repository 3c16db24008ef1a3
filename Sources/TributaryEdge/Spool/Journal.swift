#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TributaryProtocol
import TributarySQLite

// The spool (edge/README.md, "The spool" is the operator's version).
//
//   <spool>/journal.sqlite        the journal: SQLite, WAL, synchronous=FULL
//   <spool>/objects/<random>      one file per accepted object: its bytes, exactly as taken (a copy, or
//                                 the inbox file itself hard-linked: IntakeMethod)
//   <spool>/batches/<random>.seg  a built segment (zstd tar), immutable once journaled
//   <spool>/batches/<random>.zst  a large object, zstd-compressed for sending, immutable
//   <spool>/incoming/             builds and bucket fetches in progress; emptied at start-up
//   <spool>/intake.lock           flock'd shared by every intake (agent, `put`) from its first copy
//                                 to its commit, exclusively by the start-up clean-up (IntakeLock)
//   <spool>/agent.lock            flock'd by the running agent (one agent per spool)
//   <spool>/agent-status.json     the running agent's link state and upload in flight (for `status`)
//
// Schema:
//   objects(id, stream, name, size, sha256, captured_at, accepted_at, priority, file, compressible,
//           batch_id NULL | batches.id, rejections) -- a row per accepted, not yet acknowledged object
//   batches(id, kind 'segment'|'object', encoding 'zstd'|'identity', file, size, sha256, priority,
//           created_at, upload_url NULL | URL, upload_offset, attempts, commit_failures)
//           -- attempts: creations refused (400/413/415); commit_failures: 5xx to its commit in a row
//   taken(path, size, mtime_ns, inode, sha256, taken_at)   -- inbox files already accepted
//   source_objects(source, key, etag, size, state, object_id, reason, at)
//           -- bucket sources' durable cursor: the version of each key taken (state 'taken', then
//              'delivered' in the receipt's transaction), or set aside ('refused' + reason)
//   counters(name, value)                                   -- drops, acks, rejections…
//   drops(id, stream, name, size, sha256, captured_at, dropped_at, reason)  -- last 1000 drops
//   quarantine(id, stream, name, size, sha256, captured_at, file, reason, at, priority, compressible,
//              retryable)  -- set aside: corrupt in the spool (retryable 0) or refused by the core
//
// Invariants:
// - An object is accepted iff its `objects` row is committed; its file was written (or linked) and
//   made durable (syncfs) before that commit, and the inbox file is removed only after it.
// - An object leaves `objects` only in the transaction that records the core's receipt naming it
//   stored or duplicate (then its files are unlinked), or when `drop-oldest` evicts it (counted
//   and logged in `drops`), or when it is quarantined (kept on disk, listed in `status`).
// - A batch's file is complete and fsync'd before its row is committed; it never changes after,
//   so a resumed upload sends exactly the same bytes. `upload_url` is recorded as soon as the core
//   creates the upload, so a restarted agent resumes it (HEAD) instead of starting over.
// - Files in objects/ and batches/ that no row names are leftovers of a crash between writing
//   and journaling; they are removed at start-up (their source is still in the inbox or `put`
//   never returned) — under the intake lock held exclusively, so a `put` running in another
//   process between its copy and its commit is waited for, not robbed of its copy.

/// One object in the spool.
public struct SpoolObject: Sendable, Equatable {
    public var id: Int64
    public var stream: String
    public var name: String
    public var size: UInt64
    public var sha256: String
    public var capturedAt: String
    public var acceptedAt: String
    public var priority: Int
    /// Path relative to the spool directory.
    public var file: String
    public var compressible: Bool
    public var batchID: Int64?
}

/// An object about to be accepted (its file already written under `objects/`, not yet journaled).
public struct NewObject: Sendable {
    public var stream: String
    public var name: String
    public var size: UInt64
    public var sha256: String
    public var capturedAt: String
    public var priority: Int
    public var file: String
    public var compressible: Bool
    /// For the `keep` inbox policy: the inbox file's identity, remembered so it is taken once.
    public var source: TakenFile?
    /// For an object taken from a bucket (`[[source]]`): the version taken, remembered in the same
    /// transaction that accepts the object.
    public var origin: SourceVersion?
    /// `file` is the source itself, hard-linked (`IntakeMethod.link`), not a copy: counted.
    public var linked: Bool

    public init(stream: String, name: String, size: UInt64, sha256: String, capturedAt: String, priority: Int,
                file: String, compressible: Bool, linked: Bool = false, source: TakenFile? = nil, origin: SourceVersion? = nil) {
        self.origin = origin
        self.linked = linked
        self.stream = stream
        self.name = name
        self.size = size
        self.sha256 = sha256
        self.capturedAt = capturedAt
        self.priority = priority
        self.file = file
        self.compressible = compressible
        self.source = source
    }
}

/// An inbox file's identity when it was taken.
public struct TakenFile: Sendable, Equatable, Hashable {
    public var path: String
    public var size: UInt64
    public var mtimeNanoseconds: Int64
    public var inode: UInt64

    public init(path: String, size: UInt64, mtimeNanoseconds: Int64, inode: UInt64) {
        self.path = path
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.inode = inode
    }

    /// The identity of the regular file at `path` now (not following a symlink); nil if none.
    public static func of(_ path: String) -> TakenFile? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return TakenFile(
            path: path, size: UInt64(st.st_size), mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            inode: UInt64(st.st_ino))
    }
}

/// A batch: one upload, a segment or a single object.
public struct SpoolBatch: Sendable, Equatable {
    public var id: Int64
    public var kind: UploadKind
    public var encoding: UploadEncoding
    public var file: String
    public var size: UInt64
    public var sha256: String
    public var priority: Int
    public var createdAt: String
    public var uploadURL: String?
    public var uploadOffset: UInt64
    public var attempts: Int
    public var commitFailures: Int = 0
    /// The upload lane: segments (small, fresh data) and single objects (bulk) never wait for each other.
    public var lane: UploadLane { kind == .segment ? .fresh : .bulk }
}

/// The uploader's lanes (edge/README.md, "Delivery"): each has its own connection, its own batches
/// built ahead and its own chunk size, so a big object or a stuck batch never holds back small,
/// fresh data.
public enum UploadLane: String, Sendable, CaseIterable, Codable {
    /// Segments: small objects packed together.
    case fresh
    /// Objects sent alone (large or incompressible).
    case bulk
}

/// An object evicted by `drop-oldest`.
public struct DroppedObject: Sendable, Equatable {
    public var stream: String
    public var name: String
    public var size: UInt64
    public var sha256: String
    public var capturedAt: String
    public var file: String
}

public struct SpoolFullError: Error, CustomStringConvertible, Sendable {
    public var reason: SpoolPolicy.Refusal
    public var needBytes: UInt64
    public var usedBytes: UInt64
    public var maxBytes: UInt64
    public var usedObjects: Int
    public var maxObjects: Int
    public var description: String {
        switch reason {
        case .largerThanSpool: "\(needBytes) bytes do not fit in the whole spool (max_spool_bytes = \(maxBytes), max_spool_objects = \(maxObjects))"
        case .atLimit, .noRoom: "spool is full: \(usedBytes) of \(maxBytes) bytes and \(usedObjects) of \(maxObjects) objects in use, \(needBytes) more bytes needed (full_policy = block)"
        case .nothingToEvict: "spool is full: \(usedBytes) of \(maxBytes) bytes and \(usedObjects) of \(maxObjects) objects in use, all in batches being sent; \(needBytes) more bytes needed"
        }
    }
}

/// The spool journal. One per process; serializes its own use. Other processes (`put`,
/// `status`) open their own `Journal` on the same file: SQLite's locking orders them.
public final class Journal: @unchecked Sendable {
    public let spoolDirectory: String
    let db: SQLiteDatabase
    private let lock = Mutex<Void>(())

    static let migrations = [
        """
        CREATE TABLE batches(
            id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, encoding TEXT NOT NULL, file TEXT NOT NULL,
            size INTEGER NOT NULL, sha256 TEXT NOT NULL, priority INTEGER NOT NULL, created_at TEXT NOT NULL,
            upload_url TEXT, upload_offset INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE objects(
            id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL,
            sha256 TEXT NOT NULL, captured_at TEXT NOT NULL, accepted_at TEXT NOT NULL, priority INTEGER NOT NULL,
            file TEXT NOT NULL, compressible INTEGER NOT NULL, batch_id INTEGER REFERENCES batches(id));
        CREATE INDEX objects_order ON objects(batch_id, priority DESC, captured_at, id);
        CREATE INDEX objects_stream ON objects(stream);
        CREATE TABLE taken(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,
            sha256 TEXT NOT NULL, taken_at TEXT NOT NULL);
        CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE drops(id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL,
            sha256 TEXT NOT NULL, captured_at TEXT NOT NULL, dropped_at TEXT NOT NULL, reason TEXT NOT NULL);
        CREATE TABLE quarantine(id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, name TEXT NOT NULL,
            size INTEGER NOT NULL, sha256 TEXT NOT NULL, captured_at TEXT NOT NULL, file TEXT NOT NULL, reason TEXT NOT NULL,
            at TEXT NOT NULL);
        """,
        // How often the core refused a batch holding the object with its bytes verified intact;
        // at `maxRejections` it is quarantined rather than sent again.
        "ALTER TABLE objects ADD COLUMN rejections INTEGER NOT NULL DEFAULT 0",
        // Poison batches: commits the core failed (5xx) in a row for a batch; and what a
        // quarantined object needs to go back to pending (`retry-quarantined`).
        """
        ALTER TABLE batches ADD COLUMN commit_failures INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE quarantine ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE quarantine ADD COLUMN compressible INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE quarantine ADD COLUMN retryable INTEGER NOT NULL DEFAULT 1;
        """,
        // Bucket sources (Journal+Sources.swift).
        """
        CREATE TABLE source_objects(source TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL, size INTEGER NOT NULL,
            state TEXT NOT NULL, object_id INTEGER, reason TEXT, at TEXT NOT NULL, PRIMARY KEY(source, key));
        CREATE INDEX source_objects_object ON source_objects(object_id);
        """,
    ]

    /// Refusals of an intact object before it is quarantined.
    public static let maxRejections = 3

    public init(spoolDirectory: String) throws {
        self.spoolDirectory = spoolDirectory
        db = try SQLiteDatabase(path: spoolDirectory + "/journal.sqlite")
        // A page cache of 512 KiB (SQLite's default is 2 MiB): the journal's hot pages are the
        // index ends intake appends to and batching reads from; the rest is in the OS page cache
        // anyway. Part of the edge's footprint budget (docs/PERFORMANCE.md, "Edge footprint").
        try db.execute("PRAGMA cache_size = -\(Self.pageCacheKiB)")
        try db.migrate(Self.migrations)
    }

    /// The journal connection's SQLite page cache, in KiB.
    public static let pageCacheKiB = 512

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        try lock.withLock { _ in try body() }
    }

    // MARK: Intake

    /// Spool use: bytes and count of accepted, unacknowledged objects.
    public func usage() throws -> (bytes: UInt64, objects: Int) {
        try locked {
            let r = try db.query("SELECT COALESCE(SUM(size), 0), COUNT(*) FROM objects")[0]
            return (UInt64(r[0].int ?? 0), Int(r[1].int ?? 0))
        }
    }

    /// Whether an inbox file with this identity was already taken (`keep` policy, or a crash
    /// between journaling and removing it).
    public func wasTaken(_ f: TakenFile) throws -> Bool {
        try locked {
            let rows = try db.query(
                "SELECT 1 FROM taken WHERE path = ? AND size = ? AND mtime_ns = ? AND inode = ?",
                [.text(f.path), .integer(Int64(f.size)), .integer(f.mtimeNanoseconds), .integer(Int64(bitPattern: f.inode))])
            return !rows.isEmpty
        }
    }

    /// Forgets taken inbox files that no longer exist (`gone` answers for each path).
    public func forgetTaken(where gone: (String) -> Bool) throws {
        try locked {
            let paths = try db.query("SELECT path FROM taken").compactMap { $0[0].string }.filter(gone)
            guard !paths.isEmpty else { return }
            try db.transaction {  // one commit (one WAL fsync) for all of them
                for p in paths { try db.query("DELETE FROM taken WHERE path = ?", [.text(p)]) }
            }
        }
    }

    /// Accepts `items` in one transaction (the group commit point), admitted by `policy`
    /// (`SpoolPolicy`). Under `drop-oldest`, evicts what the policy says and returns it; their files
    /// are the caller's to unlink after this returns. When refused, throws `SpoolFullError` and
    /// accepts nothing.
    public func accept(_ items: [NewObject], acceptedAt: String, policy: SpoolPolicy) throws -> [DroppedObject] {
        try locked {
            try db.transaction {
                let r = try db.query("SELECT COALESCE(SUM(size), 0), COUNT(*) FROM objects")[0]
                let use = SpoolPolicy.Use(bytes: UInt64(r[0].int ?? 0), objects: Int(r[1].int ?? 0))
                let needBytes = items.reduce(UInt64(0)) { $0 + $1.size }
                var victims: [[SQLValue]] = []
                let admission = try policy.admit(bytes: needBytes, count: items.count, use: use) {
                    // Only the prefix of the eviction order the policy can consume: a row is needed
                    // while the rows before it free less than the excess in bytes or in objects. So the
                    // rows read are bounded by what is dropped, not by the backlog (a full spool of a
                    // million small objects used to be read whole at every intake group).
                    let excessBytes = Int64(clamping: use.bytes) - Int64(clamping: policy.maxBytes) + Int64(clamping: needBytes)
                    let excessObjects = Int64(use.objects) - Int64(policy.maxObjects) + Int64(items.count)
                    victims = try db.query(
                        """
                        SELECT id, stream, name, size, sha256, captured_at, file FROM (
                          SELECT id, stream, name, size, sha256, captured_at, file, priority,
                                 SUM(size) OVER w - size AS bytes_before, ROW_NUMBER() OVER w - 1 AS objects_before
                          FROM objects WHERE batch_id IS NULL WINDOW w AS (ORDER BY priority, captured_at, id))
                        WHERE bytes_before < ? OR objects_before < ? ORDER BY priority, captured_at, id
                        """, [.integer(excessBytes), .integer(excessObjects)])
                    return victims.map { UInt64($0[3].int ?? 0) }
                }
                let evict: Int
                switch admission {
                case .refuse(let why):
                    throw SpoolFullError(reason: why, needBytes: needBytes, usedBytes: use.bytes, maxBytes: policy.maxBytes, usedObjects: use.objects, maxObjects: policy.maxObjects)
                case .admit(let n): evict = n
                }
                var dropped: [DroppedObject] = []
                for v in victims.prefix(evict) {
                    let d = DroppedObject(
                        stream: v[1].string!, name: v[2].string!, size: UInt64(v[3].int!), sha256: v[4].string!,
                        capturedAt: v[5].string!, file: v[6].string!)
                    try db.query("DELETE FROM objects WHERE id = ?", [v[0]])
                    try db.query(
                        "INSERT INTO drops(stream, name, size, sha256, captured_at, dropped_at, reason) VALUES (?, ?, ?, ?, ?, ?, 'spool full (drop-oldest)')",
                        [.text(d.stream), .text(d.name), .integer(Int64(d.size)), .text(d.sha256), .text(d.capturedAt), .text(acceptedAt)])
                    dropped.append(d)
                }
                if !dropped.isEmpty {
                    try bump("dropped_objects", Int64(dropped.count))
                    try bump("dropped_bytes", Int64(dropped.reduce(0) { $0 + $1.size }))
                    try db.query("DELETE FROM drops WHERE id <= (SELECT MAX(id) FROM drops) - 1000")
                }
                for o in items {
                    try db.query(
                        "INSERT INTO objects(stream, name, size, sha256, captured_at, accepted_at, priority, file, compressible) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [.text(o.stream), .text(o.name), .integer(Int64(o.size)), .text(o.sha256), .text(o.capturedAt), .text(acceptedAt),
                         .integer(Int64(o.priority)), .text(o.file), .integer(o.compressible ? 1 : 0)])
                    if let v = o.origin {
                        let id = try db.query("SELECT last_insert_rowid()").first?[0].int
                        try recordTaken(v, objectID: id, at: acceptedAt)
                    }
                    if let s = o.source {
                        try db.query(
                            "INSERT OR REPLACE INTO taken(path, size, mtime_ns, inode, sha256, taken_at) VALUES (?, ?, ?, ?, ?, ?)",
                            [.text(s.path), .integer(Int64(s.size)), .integer(s.mtimeNanoseconds), .integer(Int64(bitPattern: s.inode)),
                             .text(o.sha256), .text(acceptedAt)])
                    }
                }
                try bump("accepted_objects", Int64(items.count))
                try bump("accepted_bytes", Int64(needBytes))
                try bump("accepted_linked", Int64(items.filter(\.linked).count))
                return dropped
            }
        }
    }

    public func accept(
        _ items: [NewObject], acceptedAt: String, maxBytes: UInt64, maxObjects: Int, policy: EdgeConfiguration.FullPolicy
    ) throws -> [DroppedObject] {
        try accept(items, acceptedAt: acceptedAt, policy: SpoolPolicy(maxBytes: maxBytes, maxObjects: maxObjects, full: policy))
    }

    /// Adds to a counter inside the caller's transaction.
    func bump(_ name: String, _ by: Int64) throws {
        guard by != 0 else { return }
        try db.query(
            "INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            [.text(name), .integer(by)])
    }

    /// Adds to a counter in its own transaction.
    public func count(_ name: String, _ by: Int64 = 1) throws {
        try locked { try db.transaction { try bump(name, by) } }
    }

    public func counters() throws -> [String: Int64] {
        try locked {
            var out: [String: Int64] = [:]
            for r in try db.query("SELECT name, value FROM counters") { out[r[0].string!] = r[1].int! }
            return out
        }
    }

    /// Files (relative to the spool) that rows name: everything else under objects/ and batches/ is a leftover.
    public func referencedFiles() throws -> Set<String> {
        try locked {
            var s = Set<String>()
            for r in try db.query("SELECT file FROM objects UNION SELECT file FROM batches UNION SELECT file FROM quarantine") {
                s.insert(r[0].string!)
            }
            return s
        }
    }
}

extension SpoolObject {
    static let columns = "id, stream, name, size, sha256, captured_at, accepted_at, priority, file, compressible, batch_id"

    init(row r: [SQLValue]) {
        self.init(
            id: r[0].int!, stream: r[1].string!, name: r[2].string!, size: UInt64(r[3].int!), sha256: r[4].string!,
            capturedAt: r[5].string!, acceptedAt: r[6].string!, priority: Int(r[7].int!), file: r[8].string!,
            compressible: r[9].int! != 0, batchID: r[10].int)
    }
}

extension SpoolBatch {
    static let columns = "id, kind, encoding, file, size, sha256, priority, created_at, upload_url, upload_offset, attempts, commit_failures"

    init(row r: [SQLValue]) {
        self.init(
            id: r[0].int!, kind: UploadKind(rawValue: r[1].string!) ?? .segment, encoding: UploadEncoding(rawValue: r[2].string!) ?? .zstd,
            file: r[3].string!, size: UInt64(r[4].int!), sha256: r[5].string!, priority: Int(r[6].int!), createdAt: r[7].string!,
            uploadURL: r[8].string, uploadOffset: UInt64(r[9].int!), attempts: Int(r[10].int!), commitFailures: Int(r[11].int!))
    }
}
