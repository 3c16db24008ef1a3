import TributaryProtocol

/// Where a session's durable writes go: the edge's spool journal, the core forwarder's state
/// file. Each call returns only once its write is durable (the session's next request may
/// depend on it: an upload URL is recorded before any byte is sent).
public protocol SessionJournal {
    func recordUpload(url: String?) throws
    func recordProgress(offset: UInt64, length: UInt64) throws
    func recordCreationRefusal() throws
    func recordCommitFailure() throws
    /// Counts a named event (`chunks_resent_corrupt`, `offset_resyncs`).
    func count(_ name: String) throws
    /// Request-body bytes that left and were lost (a cut or refused chunk).
    func wasted(bytes: UInt64) throws
    /// Progress within a PATCH: `uploaded` bytes of the chunk at `offset` have left (curl's
    /// progress callback; for live status). Default: nothing.
    func sending(offset: UInt64, uploaded: UInt64)
    /// Every answer the session gets, before the session sees it (for logging and link
    /// bookkeeping); `state` is the session's state at that moment. Default: nothing.
    func observed(_ event: UploadSession.Event, state: UploadSession.State)
    /// A PATCH the core took: its `bytes` of body and the `seconds` from the request's start to the
    /// answer. A measurement of the link for the edge's `LevelPolicy`, on the slow side: it includes the
    /// core's work on the request (its commit), whereas the moment curl has handed the whole body to the
    /// socket says little — kernel buffers can absorb a few MB at once. Default: nothing.
    func sent(bytes: UInt64, seconds: Double)
}

extension SessionJournal {
    public func sending(offset: UInt64, uploaded: UInt64) {}
    public func observed(_ event: UploadSession.Event, state: UploadSession.State) {}
    public func sent(bytes: UInt64, seconds: Double) {}
}

/// How a session ended.
public enum SessionEnd: Sendable, Equatable {
    case acknowledged(CommitReceipt)
    case released(UploadSession.Release, reason: String)
    case retry(UploadError, UploadSession.Blame)
}

/// The body of one upload: a file (sent by offset) and the objects the receipt must name.
public struct SessionBody: Sendable {
    public var fd: Int32
    public var size: UInt64
    public var metadata: UploadMetadata
    /// The objects of the upload, for checking a compact receipt (`CompactReceipt.expand`).
    public var entries: [ReceiptEntry]

    public init(fd: Int32, size: UInt64, metadata: UploadMetadata, entries: [ReceiptEntry]) {
        self.fd = fd
        self.size = size
        self.metadata = metadata
        self.entries = entries
    }
}

/// Runs one `UploadSession` to its end against a `TusClient`, executing its actions — the dumb
/// shell around the pure state machine, shared by the edge's uploader and the core's forwarder;
/// their own side effects go through their `SessionJournal`. Blocking: run it on a `BlockingThread`.
public enum SessionDriver {
    /// - Parameters:
    ///   - digest: the sha256 of `length` bytes of the body at `offset` (throws if the file is short;
    ///     the error ends the run and is the caller's to handle).
    ///   - rate: the send-rate cap for the next chunk (bytes/s, 0 unlimited).
    ///   - create: the creation request, when the caller's needs more than `client.create` (the
    ///     edge sends a missing dictionary and creates again).
    public static func run(
        _ session: inout UploadSession, client: TusClient, body: SessionBody, journal: some SessionJournal,
        digest: (UInt64, UInt64) throws -> [UInt8], rate: () -> Int64,
        create: (() throws(UploadError) -> (url: String, committed: Bool))? = nil
    ) throws -> SessionEnd {
        var queue = session.start()[...]
        while let action = queue.popFirst() {
            let event: UploadSession.Event?
            switch action {
            case .create:
                event = Self.event { () throws(UploadError) in
                    let c: (url: String, committed: Bool)
                    if let create { c = try create() } else { c = try client.create(length: body.size, metadata: body.metadata) }
                    return .created(url: c.url, committed: c.committed)
                }
            case .head(let url):
                event = Self.event { () throws(UploadError) in .headed(try client.head(url)) }
            case .patch(let url, let offset, let length):
                let sha = try digest(offset, length)
                let completes = offset + length >= body.size
                let cap = rate()
                let started = ContinuousClock.now
                event = Self.event { () throws(UploadError) in
                    let r = try client.patch(
                        url, fd: body.fd, offset: offset, length: length, sha256: sha, maxSendSpeed: cap, askReceipt: completes
                    ) { p in journal.sending(offset: offset, uploaded: p.uploaded) }
                    journal.sent(bytes: length, seconds: Self.seconds(.now - started))
                    return .patched(offset: r.offset, committed: r.committed, receipt: r.receipt.flatMap { $0.expand(body.entries) })
                }
                if case .failed(let e) = event, e.bytesSent > 0 { try journal.wasted(bytes: min(e.bytesSent, length)) }
            case .fetchReceipt(let url):
                event = Self.event { () throws(UploadError) in .receipt(try client.receipt(url)) }
            case .recordUpload(let url):
                try journal.recordUpload(url: url)
                event = nil
            case .recordProgress(let offset, let length):
                try journal.recordProgress(offset: offset, length: length)
                event = nil
            case .recordCreationRefusal:
                try journal.recordCreationRefusal()
                event = nil
            case .recordCommitFailure:
                try journal.recordCommitFailure()
                event = nil
            case .count(let name):
                try journal.count(name)
                event = nil
            case .acknowledge(let receipt):
                return .acknowledged(receipt)
            case .release(let how, let reason):
                return .released(how, reason: reason)
            case .retryLater(let e, let blame):
                return .retry(e, blame)
            }
            if let event {
                journal.observed(event, state: session.state)
                queue.append(contentsOf: session.next(event))
            }
        }
        preconditionFailure("an UploadSession ends with acknowledge, release or retryLater")
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    private static func event(_ body: () throws(UploadError) -> UploadSession.Event) -> UploadSession.Event {
        do { return try body() } catch { return .failed(error) }
    }
}
