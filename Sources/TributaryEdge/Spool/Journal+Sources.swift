import TributarySQLite

/// One version of one object in a bucket source: what identifies it (ETag and size).
public struct SourceVersion: Sendable, Equatable, Hashable {
    /// The `[[source]]` entry's name.
    public var source: String
    public var key: String
    public var etag: String
    public var size: UInt64

    public init(source: String, key: String, etag: String, size: UInt64) {
        self.source = source
        self.key = key
        self.etag = etag
        self.size = size
    }
}

/// What the journal remembers of one key of a bucket source (the durable cursor).
public struct RememberedSourceObject: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Accepted into the spool; no receipt yet.
        case taken
        /// A receipt named it (stored or duplicate): with `after = "delete"` it may be deleted.
        case delivered
        /// Set aside (too large, bad name, failed too often): not taken again until it changes.
        case refused
    }

    public var etag: String
    public var size: UInt64
    public var state: State
    public var reason: String?
}

// The bucket sources' cursor (`source_objects`). A row per key of a source: the version taken
// (inserted in the transaction that accepts the object, so a crash leaves both or neither), moved
// to `delivered` in the transaction that applies the receipt naming the object, removed once the
// key is gone from the bucket (deleted by us or by someone else).
extension Journal {
    /// Inside `accept`'s transaction.
    func recordTaken(_ v: SourceVersion, objectID: Int64?, at: String) throws {
        try db.query(
            """
            INSERT OR REPLACE INTO source_objects(source, key, etag, size, state, object_id, reason, at)
            VALUES (?, ?, ?, ?, 'taken', ?, NULL, ?)
            """,
            [.text(v.source), .text(v.key), .text(v.etag), .integer(Int64(v.size)), objectID.map(SQLValue.integer) ?? .null, .text(at)])
    }

    /// Inside `acknowledge`'s transaction: the object a receipt named, if it came from a bucket.
    func markDelivered(objectID: Int64) throws {
        try db.query("UPDATE source_objects SET state = 'delivered' WHERE object_id = ? AND state = 'taken'", [.integer(objectID)])
    }

    /// Everything remembered of `source`, by key.
    public func sourceObjects(_ source: String) throws -> [String: RememberedSourceObject] {
        try locked {
            var out: [String: RememberedSourceObject] = [:]
            for r in try db.query("SELECT key, etag, size, state, reason FROM source_objects WHERE source = ?", [.text(source)]) {
                guard let key = r[0].string, let etag = r[1].string, let size = r[2].int, let state = r[3].string.flatMap(RememberedSourceObject.State.init) else {
                    continue
                }
                out[key] = RememberedSourceObject(etag: etag, size: UInt64(max(0, size)), state: state, reason: r[4].string)
            }
            return out
        }
    }

    /// Sets a version aside: it is not taken again until its ETag or size changes. Counted.
    public func refuseSourceObject(_ v: SourceVersion, reason: String, at: String) throws {
        try locked {
            try db.transaction {
                try db.query(
                    """
                    INSERT OR REPLACE INTO source_objects(source, key, etag, size, state, object_id, reason, at)
                    VALUES (?, ?, ?, ?, 'refused', NULL, ?, ?)
                    """,
                    [.text(v.source), .text(v.key), .text(v.etag), .integer(Int64(v.size)), .text(reason), .text(at)])
                try bump("source_objects_refused", 1)
            }
        }
    }

    /// Forgets keys of `source` (gone from the bucket, or deleted there after delivery).
    public func forgetSourceObjects(_ source: String, keys: [String], deleted: Int = 0) throws {
        guard !keys.isEmpty || deleted > 0 else { return }
        try locked {
            try db.transaction {
                for k in keys { try db.query("DELETE FROM source_objects WHERE source = ? AND key = ?", [.text(source), .text(k)]) }
                try bump("source_objects_deleted", Int64(deleted))
            }
        }
    }
}
