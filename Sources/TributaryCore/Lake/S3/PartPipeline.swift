/// The decisions of S3 part pipelining (issue 14): while a large identity object is still being
/// received, the parts of it that are already durable in staging are uploaded to its final lake
/// key as parts of a multipart upload, so that its commit has only the tail part(s) and
/// CompleteMultipartUpload left. Pure: events in, actions out; `S3PartShipper` does the I/O.
///
/// Rules:
/// - Only a region that is durable in staging is shipped: part `n` (1-based, `partSize` bytes,
///   the last one shorter) once `durable ≥ min(n × partSize, size)`. Bytes below the durable
///   offset never change (a PATCH writes only from the durable offset on), so a shipped part
///   stays right whatever happens to the connection afterwards.
/// - One upload per object key: a second upload of the same key (same site, name and content)
///   is not pipelined; its commit takes over whatever the first one shipped.
/// - At most `limit` part uploads run at once in the whole process, fairly over the uploads (the
///   one with the fewest parts in flight first; then the oldest).
/// - A part that fails is left to the commit; after `maxFailures` failures of one upload nothing
///   more of it is shipped in the background (nothing is retried forever). An upload the store
///   no longer knows stops its pipeline likewise; the commit starts afresh.
/// - `takeOver(key)` (the commit's placement): nothing more is shipped for that key; once its
///   parts in flight have ended the commit is released and the upload leaves the machine —
///   the multipart upload and its recorded parts now belong to the commit (`S3Multipart`).
/// - `end(upload)` (duplicate at commit, key changed, checksum failure, expiry, termination,
///   quarantine): the multipart upload is aborted once nothing of it is in flight (or once its
///   creation has answered), and the upload leaves the machine. CompleteMultipartUpload is only
///   ever sent by the commit, so nothing half-written becomes visible.
struct PartPipeline: Sendable {
    enum Phase: Equatable, Sendable {
        /// CreateMultipartUpload (or adoption of a recorded one) is running.
        case creating
        /// Parts are shipped as they become durable.
        case open(uploadID: String)
        /// Nothing more is shipped (failures, upload gone); kept for `takeOver`/`end`.
        case stopped(uploadID: String?)
    }

    struct Upload: Equatable, Sendable {
        var id: String
        var key: String
        var size: UInt64
        var partSize: UInt64
        var durable: UInt64
        var phase: Phase
        var done: Set<Int> = []
        var inFlight: Set<Int> = []
        var failures = 0
        /// Set once the commit took the key over or the upload ended: when nothing is in flight
        /// any more it leaves (released to the commit, or aborted).
        var closing: Closing?
        var order: Int

        var partCount: Int { size == 0 ? 0 : Int((size - 1) / partSize) + 1 }

        var uploadID: String? {
            switch phase {
            case .creating: return nil
            case .open(let u): return u
            case .stopped(let u): return u
            }
        }

        func range(_ part: Int) -> (offset: UInt64, length: UInt64) {
            let offset = UInt64(part - 1) * partSize
            return (offset, min(partSize, size - offset))
        }

        /// The lowest part that is durable and neither shipped nor in flight.
        func nextPart() -> Int? {
            guard case .open = phase, closing == nil, partSize > 0 else { return nil }
            var part = 1
            while part <= partCount {
                let (offset, length) = range(part)
                if offset + length > durable { return nil }
                if !done.contains(part) && !inFlight.contains(part) { return part }
                part += 1
            }
            return nil
        }
    }

    enum Closing: Equatable, Sendable {
        case takenOver
        case ended(reason: String)
    }

    enum Action: Equatable, Sendable {
        /// Create the multipart upload of `key` (or adopt the one recorded for it), then report
        /// `created` or `createFailed`.
        case create(upload: String, key: String)
        /// Upload part `part` (bytes `offset..<offset+length` of the staged data), then report
        /// `partShipped` or `partFailed`.
        case ship(upload: String, key: String, uploadID: String, part: Int, offset: UInt64, length: UInt64)
        /// Abort the multipart upload (nil: none was created; only forget the record).
        case abort(upload: String, key: String, uploadID: String?, reason: String)
        /// The commit waiting in `takeOver(key)` may go on.
        case release(key: String)
    }

    /// Part uploads running at once in the process.
    let limit: Int
    /// Failed parts after which an upload ships nothing more in the background.
    let maxFailures: Int
    private(set) var uploads: [String: Upload] = [:]
    private var owners: [String: String] = [:]
    private var nextOrder = 0

    init(limit: Int, maxFailures: Int = 3) {
        self.limit = max(1, limit)
        self.maxFailures = max(1, maxFailures)
    }

    var inFlight: Int { uploads.values.reduce(0) { $0 + $1.inFlight.count } }

    /// Whether `key` belongs to a pipelined upload.
    func owner(of key: String) -> String? { owners[key] }

    /// `durable` bytes of upload `id` (final object key `key`, `size` bytes) are durable in staging.
    mutating func received(upload id: String, key: String, size: UInt64, partSize: UInt64, durable: UInt64) -> [Action] {
        if var u = uploads[id] {
            guard u.key == key else { return [] }
            u.durable = max(u.durable, min(durable, u.size))
            uploads[id] = u
            return schedule()
        }
        // Nothing to gain before a whole part is durable, nor once all is (the commit is about to
        // place it); a key some other upload ships is left to it.
        guard partSize > 0, durable >= partSize, durable < size, owners[key] == nil else { return [] }
        uploads[id] = Upload(id: id, key: key, size: size, partSize: partSize, durable: min(durable, size), phase: .creating, order: nextOrder)
        nextOrder += 1
        owners[key] = id
        return [.create(upload: id, key: key)]
    }

    /// The multipart upload exists (`done`: parts a previous run already recorded for it).
    mutating func created(upload id: String, uploadID: String, done: Set<Int> = []) -> [Action] {
        guard var u = uploads[id], u.phase == .creating else { return [] }
        u.phase = .open(uploadID: uploadID)
        u.done = done
        uploads[id] = u
        return settle(id) + schedule()
    }

    mutating func createFailed(upload id: String) -> [Action] {
        guard var u = uploads[id], u.phase == .creating else { return [] }
        u.phase = .stopped(uploadID: nil)
        uploads[id] = u
        return settle(id) + schedule()
    }

    mutating func partShipped(upload id: String, part: Int) -> [Action] {
        guard var u = uploads[id], u.inFlight.remove(part) != nil else { return schedule() }
        u.done.insert(part)
        uploads[id] = u
        return settle(id) + schedule()
    }

    /// `gone`: the store no longer knows the multipart upload (aborted, expired).
    mutating func partFailed(upload id: String, part: Int, gone: Bool) -> [Action] {
        guard var u = uploads[id], u.inFlight.remove(part) != nil else { return schedule() }
        u.failures += 1
        if gone || u.failures >= maxFailures { u.phase = .stopped(uploadID: gone ? nil : u.uploadID) }
        uploads[id] = u
        return settle(id) + schedule()
    }

    /// The commit places `key`: it gets the multipart upload once nothing of it is in flight.
    /// Returns the actions to run; `.release(key)` among them (now or from a later event) lets
    /// the commit go on. A key nobody ships is released at once.
    mutating func takeOver(key: String) -> [Action] {
        guard let id = owners[key], var u = uploads[id] else { return [.release(key: key)] }
        if u.closing == nil { u.closing = .takenOver }
        uploads[id] = u
        return settle(id)
    }

    /// Upload `id` will not be completed from its pipeline (reason for the log and metrics).
    mutating func end(upload id: String, reason: String) -> [Action] {
        guard var u = uploads[id], u.closing == nil else { return [] }
        u.closing = .ended(reason: reason)
        uploads[id] = u
        return settle(id) + schedule()
    }

    /// Removes a closing upload once nothing of it runs.
    private mutating func settle(_ id: String) -> [Action] {
        guard let u = uploads[id], let closing = u.closing, u.inFlight.isEmpty, u.phase != .creating else { return [] }
        uploads[id] = nil
        owners[u.key] = nil
        switch closing {
        case .takenOver: return [.release(key: u.key)]
        case .ended(let reason): return [.abort(upload: id, key: u.key, uploadID: u.uploadID, reason: reason)]
        }
    }

    /// Starts parts while the process-wide limit allows.
    private mutating func schedule() -> [Action] {
        var actions: [Action] = []
        var running = inFlight
        while running < limit {
            let ready = uploads.values.compactMap { u in u.nextPart().map { (u, $0) } }
            guard let (u, part) = ready.min(by: { ($0.0.inFlight.count, $0.0.order) < ($1.0.inFlight.count, $1.0.order) }),
                let uploadID = u.uploadID
            else { break }
            uploads[u.id]?.inFlight.insert(part)
            let (offset, length) = u.range(part)
            actions.append(.ship(upload: u.id, key: u.key, uploadID: uploadID, part: part, offset: offset, length: length))
            running += 1
        }
        return actions
    }
}
