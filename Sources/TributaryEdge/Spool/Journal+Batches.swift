import TributaryProtocol
import TributarySQLite

/// What acknowledging a receipt did.
public struct Acknowledgement: Sendable, Equatable {
    public var stored: Int
    public var duplicates: Int
    public var bytes: UInt64
    /// Files (relative to the spool) to unlink now that the journal no longer names them.
    public var filesToRemove: [String]
    /// Objects of the batch the receipt did not name: back to pending.
    public var unnamed: Int
}

extension Journal {
    /// Pending objects not in any batch, in sending order: priority (high first), then oldest
    /// captured-at first, then acceptance order.
    public func pendingObjects(limit: Int) throws -> [SpoolObject] {
        try locked {
            try db.query(
                "SELECT \(SpoolObject.columns) FROM objects WHERE batch_id IS NULL ORDER BY priority DESC, captured_at, id LIMIT ?",
                [.integer(Int64(limit))]
            ).map(SpoolObject.init(row:))
        }
    }

    public func objects(inBatch id: Int64) throws -> [SpoolObject] {
        try locked {
            try db.query("SELECT \(SpoolObject.columns) FROM objects WHERE batch_id = ? ORDER BY id", [.integer(id)]).map(SpoolObject.init(row:))
        }
    }

    public func batchCount() throws -> Int {
        try locked { Int(try db.query("SELECT COUNT(*) FROM batches")[0][0].int ?? 0) }
    }

    /// Built batches waiting in `lane`.
    public func batchCount(lane: UploadLane) throws -> Int {
        try locked { Int(try db.query("SELECT COUNT(*) FROM batches WHERE kind = ?", [.text(Self.kind(of: lane))])[0][0].int ?? 0) }
    }

    static func kind(of lane: UploadLane) -> String { lane == .fresh ? UploadKind.segment.rawValue : UploadKind.object.rawValue }

    /// Records a built batch (its file already durable) and assigns its objects, in one transaction.
    /// Objects evicted meanwhile (drop-oldest) make the whole batch void: returns nil and the caller
    /// removes the file.
    public func addBatch(
        kind: UploadKind, encoding: UploadEncoding, file: String, size: UInt64, sha256: String, priority: Int,
        createdAt: String, objectIDs: [Int64]
    ) throws -> Int64? {
        try locked {
            try db.transaction {
                let marks = objectIDs.map { _ in "?" }.joined(separator: ",")
                let free = try db.query(
                    "SELECT COUNT(*) FROM objects WHERE batch_id IS NULL AND id IN (\(marks))", objectIDs.map { .integer($0) })[0][0].int ?? 0
                guard free == objectIDs.count else { return nil }
                try db.query(
                    "INSERT INTO batches(kind, encoding, file, size, sha256, priority, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [.text(kind.rawValue), .text(encoding.rawValue), .text(file), .integer(Int64(size)), .text(sha256),
                     .integer(Int64(priority)), .text(createdAt)])
                let id = try db.query("SELECT last_insert_rowid()")[0][0].int!
                try db.query("UPDATE objects SET batch_id = ? WHERE id IN (\(marks))", [.integer(id)] + objectIDs.map { .integer($0) })
                return id
            }
        }
    }

    /// The batch to send next: highest priority, then oldest.
    public func nextBatch() throws -> SpoolBatch? {
        try locked {
            try db.query("SELECT \(SpoolBatch.columns) FROM batches ORDER BY priority DESC, id LIMIT 1").first.map(SpoolBatch.init(row:))
        }
    }

    /// The batch `lane` sends next: highest priority, then oldest — except that batches in
    /// `waiting` (each failed its last session and waits out its own backoff) come after every
    /// other, so one stuck batch never blocks the lane. Nil when the lane is empty.
    public func nextBatch(lane: UploadLane, waiting: Set<Int64> = []) throws -> SpoolBatch? {
        try locked {
            let rows = try db.query(
                "SELECT \(SpoolBatch.columns) FROM batches WHERE kind = ? ORDER BY priority DESC, id", [.text(Self.kind(of: lane))])
            let all = rows.map(SpoolBatch.init(row:))
            return all.first { !waiting.contains($0.id) } ?? all.first
        }
    }

    public func batches() throws -> [SpoolBatch] {
        try locked { try db.query("SELECT \(SpoolBatch.columns) FROM batches ORDER BY priority DESC, id").map(SpoolBatch.init(row:)) }
    }

    /// Records the upload the core created for a batch (before any byte of it is sent).
    public func setUpload(batch id: Int64, url: String?) throws {
        _ = try locked {
            try db.transaction {
                try db.query(
                    "UPDATE batches SET upload_url = ?, upload_offset = 0 WHERE id = ?",
                    [url.map { .text($0) } ?? .null, .integer(id)])
            }
        }
    }

    /// Counts a refused attempt at a batch (a creation the core answered 400/413: the request may
    /// have been damaged on the way); returns the attempts so far.
    public func countAttempt(batch id: Int64) throws -> Int {
        try locked {
            try db.transaction {
                try db.query("UPDATE batches SET attempts = attempts + 1 WHERE id = ?", [.integer(id)])
                return Int(try db.query("SELECT attempts FROM batches WHERE id = ?", [.integer(id)]).first?[0].int ?? 0)
            }
        }
    }

    /// Records the core's durable offset (a hint for `status`; HEAD is the truth on resume).
    public func setOffset(batch id: Int64, offset: UInt64) throws {
        try recordChunk(batch: id, offset: offset, wireBytes: 0, goodBytes: 0)
    }

    /// Records a chunk the core took: its offset, and in the same transaction the goodput
    /// counters (`wire_bytes`: request bodies put on the wire; `good_bytes`: bytes the core kept).
    /// A chunk taken also ends a run of commit failures.
    public func recordChunk(batch id: Int64, offset: UInt64, wireBytes: UInt64, goodBytes: UInt64) throws {
        _ = try locked {
            try db.transaction {
                try db.query("UPDATE batches SET upload_offset = ? WHERE id = ?", [.integer(Int64(offset)), .integer(id)])
                try bump("wire_bytes", Int64(wireBytes))
                try bump("good_bytes", Int64(goodBytes))
            }
        }
    }

    /// Counts request-body bytes that went on the wire and were lost (a cut chunk, a refused one).
    public func countWasted(wireBytes: UInt64) throws {
        try count("wire_bytes", Int64(wireBytes))
    }

    /// Counts a commit the core failed (5xx) for this batch; returns how many in a row so far.
    @discardableResult
    public func countCommitFailure(batch id: Int64) throws -> Int {
        try locked {
            try db.transaction {
                try db.query("UPDATE batches SET commit_failures = commit_failures + 1 WHERE id = ?", [.integer(id)])
                try bump("commit_failures", 1)
                return Int(try db.query("SELECT commit_failures FROM batches WHERE id = ?", [.integer(id)]).first?[0].int ?? 0)
            }
        }
    }

    /// Applies a receipt: objects it names as stored or duplicate leave the spool; the batch is
    /// done. One transaction; the files are the caller's to unlink afterwards.
    public func acknowledge(batch id: Int64, receipt: CommitReceipt) throws -> Acknowledgement {
        try locked {
            try db.transaction {
                let batchFile = try db.query("SELECT file, kind FROM batches WHERE id = ?", [.integer(id)]).first
                let objects = try db.query("SELECT \(SpoolObject.columns) FROM objects WHERE batch_id = ?", [.integer(id)]).map(SpoolObject.init(row:))
                var named: [String: [CommitReceipt.Object]] = [:]
                for o in receipt.objects { named["\(o.stream)\u{0}\(o.name)\u{0}\(o.sha256)", default: []].append(o) }
                var ack = Acknowledgement(stored: 0, duplicates: 0, bytes: 0, filesToRemove: [], unnamed: 0)
                for o in objects {
                    let k = "\(o.stream)\u{0}\(o.name)\u{0}\(o.sha256)"
                    if var list = named[k], !list.isEmpty {
                        let r = list.removeFirst()
                        named[k] = list
                        if r.status == .duplicate { ack.duplicates += 1 } else { ack.stored += 1 }
                        ack.bytes += o.size
                        ack.filesToRemove.append(o.file)
                        try db.query("DELETE FROM objects WHERE id = ?", [.integer(o.id)])
                        try markDelivered(objectID: o.id)
                    } else {
                        ack.unnamed += 1
                        try db.query("UPDATE objects SET batch_id = NULL WHERE id = ?", [.integer(o.id)])
                    }
                }
                if let b = batchFile, let f = b[0].string, !ack.filesToRemove.contains(f) { ack.filesToRemove.append(f) }
                try db.query("DELETE FROM batches WHERE id = ?", [.integer(id)])
                try bump("acked_objects", Int64(ack.stored + ack.duplicates))
                try bump("acked_bytes", Int64(ack.bytes))
                try bump("acked_duplicates", Int64(ack.duplicates))
                try bump("uploads_committed", 1)
                return ack
            }
        }
    }

    /// Undoes a batch the core refused: its objects go back to pending (to be batched again),
    /// except `quarantined` — and, when `countRejection`, any refused for the `maxRejections`-th
    /// time — which move to quarantine with `reason`. Returns the batch file to unlink (nil when
    /// it is an object's own spool file) and how many objects were quarantined.
    public func releaseBatch(
        _ id: Int64, quarantine quarantined: [Int64], countRejection: Bool = false, reason: String, at: String
    ) throws -> (file: String?, quarantined: Int) {
        try locked {
            try db.transaction {
                let file = try db.query("SELECT file FROM batches WHERE id = ?", [.integer(id)]).first?[0].string
                let objectFiles = Set(try db.query("SELECT file FROM objects WHERE batch_id = ?", [.integer(id)]).compactMap { $0[0].string })
                var toQuarantine = quarantined
                if countRejection {
                    try db.query("UPDATE objects SET rejections = rejections + 1 WHERE batch_id = ?", [.integer(id)])
                    let worn = try db.query(
                        "SELECT id FROM objects WHERE batch_id = ? AND rejections >= ?", [.integer(id), .integer(Int64(Journal.maxRejections))])
                    for r in worn where !toQuarantine.contains(r[0].int!) { toQuarantine.append(r[0].int!) }
                }
                for oid in toQuarantine {
                    try db.query(
                        "INSERT INTO quarantine(stream, name, size, sha256, captured_at, file, reason, at, priority, compressible, retryable) SELECT stream, name, size, sha256, captured_at, file, ?, ?, priority, compressible, ? FROM objects WHERE id = ?",
                        [.text(reason), .text(at), .integer(quarantined.contains(oid) && countRejection ? 0 : 1), .integer(oid)])
                    try db.query("DELETE FROM objects WHERE id = ?", [.integer(oid)])
                }
                try bump("quarantined_objects", Int64(toQuarantine.count))
                try db.query("UPDATE objects SET batch_id = NULL WHERE batch_id = ?", [.integer(id)])
                try db.query("DELETE FROM batches WHERE id = ?", [.integer(id)])
                guard let file, !objectFiles.contains(file) else { return (nil, toQuarantine.count) }
                return (file, toQuarantine.count)
            }
        }
    }
}

extension Journal {
    /// Moves a pending object whose spool file is corrupt to quarantine (kept on disk, counted,
    /// listed by `status`), so it is never sent as if it were the original.
    public func quarantinePending(_ id: Int64, reason: String, at: String) throws {
        _ = try locked {
            try db.transaction {
                try db.query(
                    "INSERT INTO quarantine(stream, name, size, sha256, captured_at, file, reason, at, priority, compressible, retryable) SELECT stream, name, size, sha256, captured_at, file, ?, ?, priority, compressible, 0 FROM objects WHERE id = ? AND batch_id IS NULL",
                    [.text(reason), .text(at), .integer(id)])
                try db.query("DELETE FROM objects WHERE id = ? AND batch_id IS NULL", [.integer(id)])
                try bump("quarantined_objects", 1)
            }
        }
    }
}

extension Journal {
    /// `retry-quarantined`: puts quarantined objects back to pending, to be batched and sent again
    /// (their refusal counts start over). Objects set aside because their spool file no longer
    /// matches its sha256 stay, unless `includingCorrupt` (the batcher checks each file again and
    /// sets a corrupt one aside anew). Returns how many went back. One transaction.
    public func retryQuarantined(acceptedAt: String, includingCorrupt: Bool = false) throws -> Int {
        try locked {
            try db.transaction {
                let filter = includingCorrupt ? "" : " WHERE retryable = 1"
                let n = Int(try db.query("SELECT COUNT(*) FROM quarantine" + filter)[0][0].int ?? 0)
                try db.query(
                    "INSERT INTO objects(stream, name, size, sha256, captured_at, accepted_at, priority, file, compressible) SELECT stream, name, size, sha256, captured_at, ?, priority, file, compressible FROM quarantine"
                        + filter + " ORDER BY id",
                    [.text(acceptedAt)])
                try db.query("DELETE FROM quarantine" + filter)
                try bump("quarantine_retried", Int64(n))
                return n
            }
        }
    }
}
