#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The life of one upload on this core node, as a pure state machine: it decides, the I/O shell
/// (`UploadRegistry` + the HTTP handlers) acts.
///
///     receiving(offset) ──chunk stored──▶ receiving(offset′)        offset′ < length
///     receiving(offset) ──chunk stored──▶ complete                   offset′ = length → commit
///     complete ──commit ok──▶ committed          (receipt served forever)
///     complete ──commit rejected──▶ gone         (staging removed, 404 afterwards)
///     complete ──commit failed (transient)──▶ complete   (retried by an empty PATCH or at start)
///     receiving/complete ──now ≥ expiresAt──▶ expired (410 until swept)
///     receiving/complete ──terminate (DELETE) or sweep (expired)──▶ gone   (not while busy)
///     complete ──recover (start-up, after a crash mid-commit)──▶ committing   (expiry does not apply)
///
/// At most one request works on an upload at a time (`busy`): a second PATCH gets 409.
public struct UploadStateMachine: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case receiving(offset: UInt64)
        case complete
        case committed
        case gone
    }

    public enum Rejection: Sendable, Equatable {
        case gone
        case expired
        case busy
        case offsetMismatch(expected: UInt64)
        case tooLarge(room: UInt64)
    }

    public enum PatchAction: Sendable, Equatable {
        case reject(Rejection)
        /// Stream the body into staging at `offset`, accepting at most `room` bytes.
        case receive(offset: UInt64, room: UInt64)
        /// All bytes are staged but the commit has not succeeded yet: run it.
        case commit
        /// Already committed and the client asks at the final offset: answer 204 again.
        case alreadyCommitted
    }

    public enum ChunkAction: Sendable, Equatable {
        /// Record the new durable offset and answer 204.
        case persist(offset: UInt64)
        /// Record the new durable offset, then commit before answering.
        case persistAndCommit(offset: UInt64)
    }

    public enum CommitResult: Sendable, Equatable {
        case committed
        case rejected
        case failed
    }

    public let length: UInt64
    public let expiresAt: Date
    public private(set) var state: State
    public private(set) var busy = false

    public init(length: UInt64, offset: UInt64, committed: Bool = false, expiresAt: Date) {
        self.length = length
        self.expiresAt = expiresAt
        if committed {
            state = .committed
        } else {
            state = offset >= length ? .complete : .receiving(offset: offset)
        }
    }

    /// The durable offset reported by HEAD.
    public var offset: UInt64 {
        switch state {
        case .receiving(let o): return o
        case .complete, .committed, .gone: return length
        }
    }

    public func isExpired(now: Date) -> Bool {
        switch state {
        case .receiving, .complete: return now >= expiresAt
        case .committed, .gone: return false
        }
    }

    public mutating func patch(offset requested: UInt64, bodyLength: UInt64?, now: Date) -> PatchAction {
        if case .gone = state { return .reject(.gone) }
        if isExpired(now: now) { return .reject(.expired) }
        if busy { return .reject(.busy) }
        switch state {
        case .gone:
            return .reject(.gone)
        case .committed:
            return Self.patchCommitted(length: length, offset: requested, bodyLength: bodyLength)
        case .complete:
            guard requested == length else { return .reject(.offsetMismatch(expected: length)) }
            guard (bodyLength ?? 0) == 0 else { return .reject(.tooLarge(room: 0)) }
            busy = true
            return .commit
        case .receiving(let current):
            guard requested == current else { return .reject(.offsetMismatch(expected: current)) }
            let room = length - current
            if let b = bodyLength, b > room { return .reject(.tooLarge(room: room)) }
            busy = true
            return .receive(offset: current, room: room)
        }
    }

    /// A chunk of `count` bytes was written and fsync'd at the current offset.
    public mutating func chunkStored(count: UInt64) -> ChunkAction {
        guard case .receiving(let current) = state, busy else { preconditionFailure("chunkStored while \(state)") }
        let next = current + count
        precondition(next <= length, "chunk runs past the upload length")
        if next == length {
            state = .complete
            return .persistAndCommit(offset: next)
        }
        state = .receiving(offset: next)
        busy = false
        return .persist(offset: next)
    }

    /// The chunk was discarded (checksum mismatch, too large, connection lost with a checksum).
    public mutating func chunkDiscarded() {
        busy = false
    }

    public mutating func commitFinished(_ result: CommitResult) {
        busy = false
        switch result {
        case .committed: state = .committed
        case .rejected: state = .gone
        case .failed: state = .complete
        }
    }

    /// A PATCH to an upload that is committed (answered from the catalog when this node holds no
    /// machine for it): the client retrying the final PATCH whose answer it lost gets the same
    /// answer again; anything else is an offset mismatch.
    public static func patchCommitted(length: UInt64, offset requested: UInt64, bodyLength: UInt64?) -> PatchAction {
        requested == length && (bodyLength ?? 0) == 0 ? .alreadyCommitted : .reject(.offsetMismatch(expected: length))
    }

    public enum TerminateAction: Sendable, Equatable {
        /// Remove the staged bytes: the upload is gone.
        case remove
        /// Already committed: termination does nothing (tus answers 204 either way).
        case alreadyCommitted
        case reject(Rejection)
    }

    /// Termination (DELETE): a receiving or complete upload goes unless a request works on it.
    public mutating func terminate() -> TerminateAction {
        switch state {
        case .committed: return .alreadyCommitted
        case .gone: return .reject(.gone)
        case .receiving, .complete:
            if busy { return .reject(.busy) }
            state = .gone
            return .remove
        }
    }

    /// The expiry sweep: true (and gone) if the upload is expired and no request works on it.
    public mutating func sweep(now: Date) -> Bool {
        guard isExpired(now: now), !busy else { return false }
        state = .gone
        return true
    }

    /// Start-up recovery: a complete upload that was never committed (the node died mid-commit)
    /// is committed now, whatever its expiry — all its bytes were received in time. True (and
    /// busy, like the final PATCH) if the caller is to commit it and report `commitFinished`.
    public mutating func recover() -> Bool {
        guard state == .complete, !busy else { return false }
        busy = true
        return true
    }
}
