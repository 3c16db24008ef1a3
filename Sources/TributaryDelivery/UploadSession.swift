import TributaryProtocol

/// One attempt at delivering one batch, as a pure state machine: the uploader feeds it what the
/// core answered and executes the actions it returns (curl calls, journal writes). No I/O, no
/// clock: everything it decides is unit-tested (Tests/TributaryEdgeTests/UploadSessionTests.swift).
///
///     start ─ no URL ─→ creating ──POST 201──→ sending ──PATCH 204 (last)──→ verifying ─HEAD committed─→ receipt ─→ acknowledge
///                                                  └── PATCH 200 + receipt (last) ──────────────────────────────→ acknowledge
///       └──── URL ───→ resuming ──HEAD───────↗    ↑  └── 409/460/400/415 → HEAD (resuming) ──┘
///                        └── 404/410 → forget the URL → creating
///
/// The rules, one place each:
/// - A batch with an upload URL is resumed by HEAD (the core's durable offset is the truth); a
///   URL the core no longer knows (404/410) is forgotten and the upload created again.
/// - The URL is journaled (`recordUpload`) before any byte of the batch is sent.
/// - The PATCH that completes the upload asks for the receipt in its answer; one that came (and
///   matched the batch) is acknowledged at once, else the receipt is fetched (GET).
/// - A chunk damaged on the way (460, or 400/415 to a PATCH: our headers are well-formed) or an
///   offset that differs (409 offset_mismatch) is followed by HEAD and a re-send from the core's
///   offset, at most `maxResends` times per session.
/// - All bytes sent but the upload not committed: HEAD; if still not committed, an empty PATCH
///   asks the core to commit again, at most `maxCommitAsks` times per session.
/// - 400/413/415 to a creation may be a request damaged on the way: counted (durably) and retried
///   with backoff; the `maxCreationRefusals`-th sets the batch aside (quarantine).
/// - 422 (content refused) → the objects are re-verified against their sha256: corrupt ones are
///   quarantined, the others re-batched (each counts a rejection; see `Journal.maxRejections`).
///   413 after the bytes (decoded too large) is final → quarantine.
/// - `unknown_reference` (the core no longer holds what the have-check said) → re-batch with bytes.
/// - `quarantined` (the core set the upload aside: its commit crashed the core or kept failing),
///   to a PATCH, a HEAD (code in `Tributary-Error`) or a receipt GET → the batch is set aside here
///   too: sending the same bytes again could only do the same.
/// - A 5xx to the chunk that completes the upload (the commit) is a commit failure, counted
///   durably per batch; the `maxCommitFailures`-th in a row sets the batch aside (quarantine), so
///   one batch the core cannot take does not block the site.
/// - A cut or a stall (no HTTP answer) shrinks the chunk (`ChunkSizer`) and ends the session;
///   the link backs off and the next session resumes by HEAD.
/// - 401/403, other 5xx, 409 upload_busy, 429: end the session; retried after backoff.
public struct UploadSession: Sendable {
    public struct Limits: Sendable, Equatable {
        public var maxCreationRefusals = 3
        public var maxCommitFailures = 5
        public var maxResends = 8
        public var maxCommitAsks = 2
        public var maxRecreations = 2
        public init() {}
    }

    public enum State: Sendable, Equatable {
        case idle
        case creating
        /// HEAD sent to learn the core's offset.
        case resuming(url: String)
        /// PATCH of `length` bytes at `offset` in flight.
        case sending(url: String, offset: UInt64, length: UInt64)
        /// All bytes are at the core; HEAD sent to learn whether it committed.
        case verifying(url: String)
        case fetchingReceipt(url: String)
        case finished
    }

    /// What to do with the batch's objects when the session gives up on the batch for good.
    public enum Release: Sendable, Equatable {
        /// Back to pending, to be batched again (with their bytes).
        case requeue
        /// Verify each object's spool file: corrupt ones to quarantine, the others back to pending.
        case reverify
        /// Set the whole batch aside, with the reason.
        case quarantine
    }

    /// Who is to blame when a session ends without a decision on the batch.
    public enum Blame: Sendable, Equatable {
        /// The link or the core as a whole (no answer, 5xx, busy, auth): the link backs off.
        case link
        /// The core answered but did not take this batch: only this batch waits; the link is up.
        case batch
    }

    public enum Action: Sendable, Equatable {
        // I/O whose answer is fed back.
        case create
        case head(url: String)
        case patch(url: String, offset: UInt64, length: UInt64)
        case fetchReceipt(url: String)
        // Journal writes (durable before the next action).
        case recordUpload(url: String?)
        case recordProgress(offset: UInt64, length: UInt64)
        case recordCreationRefusal
        case recordCommitFailure
        case count(String)
        // Ends of the session.
        case acknowledge(CommitReceipt)
        case release(Release, reason: String)
        case retryLater(UploadError, blame: Blame)
    }

    public enum Event: Sendable {
        case created(url: String, committed: Bool)
        case headed(RemoteUpload)
        /// `receipt`: the receipt the core sent with its answer to the committing PATCH, already
        /// checked against the batch's objects (`CompactReceipt.expand`); nil → GET it.
        case patched(offset: UInt64, committed: Bool, receipt: CommitReceipt? = nil)
        case receipt(CommitReceipt)
        case failed(UploadError)
    }

    public let size: UInt64
    public let limits: Limits
    public private(set) var state: State = .idle
    public private(set) var chunk: ChunkSizer
    private var url: String?
    private var creationRefusals: Int
    private var commitFailures: Int
    private var resends = 0
    private var commitAsks = 0
    private var recreations = 0

    /// - Parameters:
    ///   - uploadURL: the upload the journal recorded for the batch, if any.
    ///   - creationRefusals, commitFailures: the batch's durable counts so far.
    public init(size: UInt64, uploadURL: String?, creationRefusals: Int, commitFailures: Int, chunk: ChunkSizer, limits: Limits = Limits()) {
        self.size = size
        url = uploadURL
        self.creationRefusals = creationRefusals
        self.commitFailures = commitFailures
        self.chunk = chunk
        self.limits = limits
    }

    public var isFinished: Bool { state == .finished }

    public mutating func start() -> [Action] {
        precondition(state == .idle, "start() once")
        if let url {
            state = .resuming(url: url)
            return [.head(url: url)]
        }
        state = .creating
        return [.create]
    }

    public mutating func next(_ event: Event) -> [Action] {
        switch (state, event) {
        case (.creating, .created(let u, let committed)):
            url = u
            if committed {
                state = .fetchingReceipt(url: u)
                return [.recordUpload(url: u), .fetchReceipt(url: u)]
            }
            return [.recordUpload(url: u)] + send(url: u, from: 0)
        case (.creating, .failed(let e)):
            return creationFailed(e)

        case (.resuming(let u), .headed(let r)), (.verifying(let u), .headed(let r)):
            guard r.length == size else {
                // Not this batch's upload (a core that lost and reissued the id): start again.
                return recreate(forgetting: u, error: UploadError(
                    kind: .gone, status: nil, code: "length_mismatch", message: "the core's upload has length \(r.length), the batch \(size)"))
            }
            if r.state == .committed {
                state = .fetchingReceipt(url: u)
                return [.fetchReceipt(url: u)]
            }
            if r.offset == size {
                // Every byte is there but no commit: ask again with an empty PATCH, a bounded number of times.
                guard commitAsks < limits.maxCommitAsks else {
                    return end(UploadError(kind: .transient, status: nil, code: "not_committed", message: "all bytes sent, the core has not committed"), blame: .batch)
                }
                commitAsks += 1
                state = .sending(url: u, offset: size, length: 0)
                return [.patch(url: u, offset: size, length: 0)]
            }
            return send(url: u, from: r.offset)
        case (.resuming(let u), .failed(let e)), (.verifying(let u), .failed(let e)):
            if e.code == UploadError.quarantinedCode { return finish(.quarantine, e) }
            if e.kind == .gone { return recreate(forgetting: u, error: e) }
            return end(e, blame: .link)

        case (.sending(let u, let offset, let length), .patched(let newOffset, let committed, let receipt)):
            chunk.succeeded(length: length)
            var actions: [Action] = [.recordProgress(offset: newOffset, length: length)]
            if committed, let receipt {
                // The receipt came with the commit: no GET.
                state = .finished
                actions.append(.acknowledge(receipt))
            } else if committed {
                state = .fetchingReceipt(url: u)
                actions.append(.fetchReceipt(url: u))
            } else if newOffset >= size {
                state = .verifying(url: u)
                actions.append(.head(url: u))
            } else if newOffset <= offset && length > 0 {
                // The core took nothing: treat as an offset disagreement.
                return actions + resync(url: u, counter: "offset_resyncs", error: UploadError(
                    kind: .offsetMismatch, status: 204, code: nil, message: "PATCH at \(offset) answered offset \(newOffset)"))
            } else {
                actions += send(url: u, from: newOffset)
            }
            return actions
        case (.sending(let u, let offset, let length), .failed(let e)):
            return patchFailed(e, url: u, completes: offset + length >= size)

        case (.fetchingReceipt, .receipt(let r)):
            state = .finished
            return [.acknowledge(r)]
        case (.fetchingReceipt(let u), .failed(let e)):
            if e.code == UploadError.quarantinedCode { return finish(.quarantine, e) }
            if e.kind == .gone { return recreate(forgetting: u, error: e) }
            return end(e, blame: .link)

        default:
            preconditionFailure("UploadSession: event \(event) in state \(state)")
        }
    }

    // MARK: Rules

    private mutating func send(url u: String, from offset: UInt64) -> [Action] {
        let length = min(chunk.current, size - offset)
        state = .sending(url: u, offset: offset, length: length)
        return [.patch(url: u, offset: offset, length: length)]
    }

    private mutating func creationFailed(_ e: UploadError) -> [Action] {
        guard e.kind == .rejected else { return end(e, blame: .link) }
        if e.code == "unknown_reference" { return finish(.requeue, e) }
        if e.status == 422 { return finish(.reverify, e) }
        // 400/413/415: our metadata passed the same checks at intake; the request may have been
        // damaged on the way. Believe it only when it persists.
        creationRefusals += 1
        return strike(.recordCreationRefusal, count: creationRefusals, limit: limits.maxCreationRefusals, e,
                      reason: "refused by the core at creation \(creationRefusals) times: \(e)")
    }

    /// One more durable strike against the batch: at `limit` it is set aside, else it waits
    /// (only it: the core answered, the link is fine).
    private mutating func strike(_ record: Action, count: Int, limit: Int, _ e: UploadError, reason: String) -> [Action] {
        state = .finished
        return [record, count >= limit ? .release(.quarantine, reason: reason) : .retryLater(e, blame: .batch)]
    }

    private mutating func patchFailed(_ e: UploadError, url u: String, completes: Bool) -> [Action] {
        let damaged = e.kind == .corrupted || (e.kind == .rejected && (e.status == 400 || e.status == 415))
        if damaged { return resync(url: u, counter: "chunks_resent_corrupt", error: e) }
        switch e.kind {
        case .offsetMismatch:
            return resync(url: u, counter: "offset_resyncs", error: e)
        case .gone:
            return recreate(forgetting: u, error: e)
        case .rejected:
            if e.code == "unknown_reference" { return finish(.requeue, e) }
            if e.code == UploadError.quarantinedCode { return finish(.quarantine, e) }
            if e.status == 422 { return finish(.reverify, e) }
            return finish(.quarantine, e)  // 413 after the bytes: decoded too large, final
        case .transient where e.status == nil:
            chunk.cut()
            return end(e, blame: .link)
        case .transient where completes && (e.status ?? 0) >= 500:
            commitFailures += 1
            return strike(.recordCommitFailure, count: commitFailures, limit: limits.maxCommitFailures, e,
                          reason: "the core failed to commit it \(commitFailures) times in a row: \(e)")
        default:
            return end(e, blame: .link)
        }
    }

    private mutating func resync(url u: String, counter: String, error e: UploadError) -> [Action] {
        guard resends < limits.maxResends else { return end(e, blame: .link) }
        resends += 1
        state = .resuming(url: u)
        return [.count(counter), .head(url: u)]
    }

    private mutating func recreate(forgetting u: String, error e: UploadError) -> [Action] {
        guard recreations < limits.maxRecreations else { return end(e, blame: .link) }
        recreations += 1
        url = nil
        state = .creating
        return [.recordUpload(url: nil), .create]
    }

    private mutating func finish(_ release: Release, _ e: UploadError) -> [Action] {
        state = .finished
        return [.release(release, reason: "refused by the core: \(e)")]
    }

    private mutating func end(_ e: UploadError, blame: Blame) -> [Action] {
        state = .finished
        return [.retryLater(e, blame: blame)]
    }
}

extension UploadError: Equatable {
    public static func == (a: UploadError, b: UploadError) -> Bool {
        a.kind == b.kind && a.status == b.status && a.code == b.code && a.message == b.message && a.retryAfter == b.retryAfter
            && a.bytesSent == b.bytesSent
    }
}
