import Dispatch
import TributaryProtocol
import TributarySQLite

/// The embedded catalog: one SQLite database in WAL mode (`<data-dir>/catalog.sqlite`).
/// One connection per process, used only from one serial dispatch queue (as GRDB's
/// `DatabaseQueue` does), so no catalog call — a `BEGIN IMMEDIATE` waiting out the 10 s busy
/// timeout included — ever blocks a thread of Swift's cooperative pool; other processes
/// (`sites add`) share the file through SQLite's own locking.
public final class SQLiteCatalog: Catalog {
    private let database: SQLiteDatabase
    private let queue = DispatchQueue(label: "tributary.catalog.sqlite")

    public init(path: String) throws {
        database = try SQLiteDatabase(path: path)
        try database.migrate(Self.migrations)
    }

    @discardableResult
    /// Runs `body` on the database's serial queue; the caller's task waits without holding a thread.
    func with<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> T) async throws -> T {
        let database = self.database
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body(database) }) }
        }
    }

    public func addSite(_ site: String, tokenSHA256: String?, createdAt: String) async throws {
        try await with { db in
            do {
                try db.transaction {
                    try db.query("INSERT INTO sites(site, token_sha256, created_at) VALUES(?, ?, ?)",
                                 [.text(site), .text(tokenSHA256 ?? SiteCredential.noToken(site)), .text(createdAt)])
                    if let tokenSHA256 { try Self.insert(db, SiteCredential(site: site, kind: .token, value: tokenSHA256, createdAt: createdAt)) }
                }
            } catch let e as SQLiteError where e.isConstraintViolation {
                throw SiteExistsError(site: site)
            }
        }
    }

    public func sites() async throws -> [SiteRecord] {
        try await with { db in
            try db.rows("SELECT \(SiteRecord.columns) FROM sites ORDER BY site").map(SiteRecord.init(row:))
        }
    }

    public func held(site: String, hashes: [String]) async throws -> Set<String> {
        try await with { db in
            var out = Set<String>()
            for chunk in stride(from: 0, to: hashes.count, by: 500) {
                let part = hashes[chunk..<min(chunk + 500, hashes.count)]
                let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
                let rows = try db.query(
                    "SELECT sha256 FROM objects WHERE site = ? AND sha256 IN (\(marks))",
                    [.text(site)] + part.map { .text($0) })
                for r in rows { if let s = r[0].string { out.insert(s) } }
            }
            return out
        }
    }

    public func object(site: String, sha256: String) async throws -> StoredObject? {
        try await with { db in try Self.object(db, site, sha256) }
    }

    private static func object(_ db: SQLiteDatabase, _ site: String, _ sha256: String) throws -> StoredObject? {
        try db.rows("SELECT \(StoredObject.columns) FROM objects WHERE site = ? AND sha256 = ?", [.text(site), .text(sha256)]).first
            .map(StoredObject.init(row:))
    }

    public func commit(_ record: CommitRecord) async throws -> CommitOutcome {
        try await with { db in
            try db.transaction {
                if let existing = try Self.receipt(db, record.uploadID) { return try CommitOutcome(existing: existing) }
                let resolved = try record.resolve { sha in try Self.object(db, record.site, sha)?.key }
                for o in resolved.newObjects {
                    try db.query(
                        "INSERT INTO objects(site, sha256, size, key, stored_at, upload_id) VALUES(?, ?, ?, ?, ?, ?)",
                        [.text(o.site), .text(o.sha256), .integer(Int64(o.size)), .text(o.key), .text(record.committedAt), .text(record.uploadID)])
                }
                for a in resolved.arrivals {
                    try db.query(
                        """
                        INSERT INTO arrivals(\(ArrivalRecord.columns))
                        VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                        [.text(a.uploadID), .integer(Int64(a.seq)), .text(a.site), .text(a.stream), .text(a.name), .text(a.sha256),
                         .integer(Int64(a.size)), .text(a.capturedAt), .text(a.receivedAt), .text(a.key), .text(a.status.rawValue),
                         a.relay.map(SQLValue.text) ?? SQLValue.null])
                }
                try Self.recordTally(db, site: record.site, at: record.committedAt, SiteTally(arrivals: resolved.arrivals))
                let receipt = record.receipt(for: resolved.arrivals)
                let json = try JSON.encode(receipt)
                guard let seq = try db.query(ForwardSchema.nextSeq(.sqlite)).first?.first, case .integer(let n) = seq else {
                    throw TributaryError(.io, "catalog: the commit_seq counter is missing")
                }
                try db.query(
                    "INSERT INTO uploads(upload_id, site, kind, length, committed_at, receipt, manifested, commit_seq, origin, path) VALUES(?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                    [.text(record.uploadID), .text(record.site), .text(record.kind.rawValue), .integer(Int64(record.length)), .text(record.committedAt),
                     .text(String(decoding: json, as: UTF8.self)), .integer(n), record.origin.map(SQLValue.text) ?? .null,
                     ForwardSchema.pathText(record.path).map(SQLValue.text) ?? .null])
                return CommitOutcome(receipt: receipt, receiptJSON: json, orphanedKeys: resolved.orphans)
            }
        }
    }

    public func receipt(uploadID: String) async throws -> StoredReceipt? {
        try await with { db in
            try Self.receipt(db, uploadID)
        }
    }

    private static func receipt(_ db: SQLiteDatabase, _ uploadID: String) throws -> StoredReceipt? {
        try db.rows("SELECT \(StoredReceipt.columns) FROM uploads WHERE upload_id = ?", [.text(uploadID)]).first.map(StoredReceipt.init(row:))
    }

    public func pendingManifests() async throws -> [PendingManifest] {
        try await with { db in
            try db.rows("SELECT \(PendingManifest.columns) FROM uploads WHERE manifested = 0").map { row in
                var p = try PendingManifest(row: row)
                p.arrivals = try db.rows("SELECT \(ArrivalRecord.columns) FROM arrivals WHERE upload_id = ?", [.text(p.uploadID)])
                    .map(ArrivalRecord.init(row:))
                return p
            }
        }
    }

    public func markManifested(uploadID: String) async throws {
        try await with { db in try db.query("UPDATE uploads SET manifested = 1 WHERE upload_id = ?", [.text(uploadID)]) }
    }

    public func check() async throws {
        try await with { db in _ = try db.query("SELECT 1") }
    }

    // MARK: Forwarding

    public func forwardCursor(target: String) async throws -> ForwardCursor {
        try await with { db in
            try db.rows("SELECT \(ForwardSchema.cursorColumns) FROM forward_targets WHERE target = ?", [.text(target)]).first
                .map(ForwardCursor.init(row:)) ?? ForwardCursor(target: target)
        }
    }

    public func forwardItems(after position: Int64, limit: Int) async throws -> [ForwardItem] {
        try await with { db in
            try db.rows(ForwardSchema.items(.sqlite), [.integer(position), .integer(Int64(limit))]).map { row in
                var item = try ForwardItem(row: row)
                item.arrivals = try db.rows("SELECT \(ArrivalRecord.columns) FROM arrivals WHERE upload_id = ? ORDER BY seq", [.text(item.uploadID)])
                    .map(ArrivalRecord.init(row:))
                return item
            }
        }
    }

    public func forwardBacklog(after position: Int64) async throws -> ForwardBacklog {
        try await with { db in
            try db.rows(ForwardSchema.backlog(.sqlite), [.integer(position)]).first.map(ForwardBacklog.init(row:)) ?? ForwardBacklog()
        }
    }

    public func advanceForward(target: String, to position: Int64, at: String, setAside: ForwardSetAside?) async throws {
        try await with { db in
            try db.transaction {
                try db.query(ForwardSchema.advance(.sqlite, success: setAside == nil), [.text(target), .integer(position), .text(at)])
                if let s = setAside {
                    try db.query(ForwardSchema.setAside(.sqlite), [.text(target), .integer(s.seq), .text(s.uploadID), .text(s.reason), .text(at)])
                }
            }
        }
    }
}
