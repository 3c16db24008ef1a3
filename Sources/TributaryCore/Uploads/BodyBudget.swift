import Synchronization

/// The process-wide budget of PATCH body bytes gathered at once (`max_buffered_body_bytes`,
/// docs/PERFORMANCE.md, "Core peak RSS with 100 sites uploading at once"): a fixed number of
/// blocks of `blockBytes`, each lent to one request while it gathers body bytes for one write.
///
/// A request asks for a block only once a body buffer has arrived, and gives it back after each
/// write (or sooner: see `UploadController.receive`), so a request waiting for a block holds no
/// block — only the one buffer NIO read — and, while it does not read its body, NIO stops reading
/// its socket (the channel's backpressure). Who waits and who is served is `BodyBudgetState`:
/// first come first served, at most `perSite` blocks per site, so one site cannot take the
/// budget from the others.
///
/// A `Block` returns itself when it is released (`deinit`): whatever way a request ends — a write
/// that fails, a client that goes away, a cancelled task — its block comes back. The block's
/// buffer is kept in a free list and lent again, so the memory of gathering is at most
/// `blocks × blockBytes` however many requests are in flight. A waiting request whose task is
/// cancelled stops waiting with `CancellationError` and holds nothing.
public final class BodyBudget: Sendable {
    public let blockBytes: Int
    public let blocks: Int

    private struct Inner {
        var state: BodyBudgetState
        var nextID: UInt64 = 0
        /// Continuations of queued requests.
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        /// Requests cancelled, or granted, before their continuation was stored.
        var cancelledEarly: Set<UInt64> = []
        var grantedEarly: Set<UInt64> = []
        /// Buffers of returned blocks (emptied, capacity kept).
        var spare: [[UInt8]] = []
        /// Acquisitions that had to wait.
        var waits: UInt64 = 0
    }

    private let inner: Mutex<Inner>
    /// Called with the bytes lent (blocks in use × `blockBytes`) after every change, and once per
    /// acquisition that waited (metrics).
    private let onChange: @Sendable (_ bytesInUse: Int, _ waited: Bool) -> Void

    /// - Parameters:
    ///   - totalBytes: the budget; `max(1, totalBytes / blockBytes)` blocks.
    ///   - perSiteShare: the share of the blocks one site may hold (at least one block).
    public init(
        totalBytes: Int, blockBytes: Int = BodyBudget.defaultBlockBytes, perSiteShare: Double = 0.25,
        onChange: @escaping @Sendable (_ bytesInUse: Int, _ waited: Bool) -> Void = { _, _ in }
    ) {
        self.blockBytes = max(1, blockBytes)
        blocks = max(1, totalBytes / self.blockBytes)
        let perSite = Int((Double(blocks) * perSiteShare).rounded(.down))
        inner = Mutex(Inner(state: BodyBudgetState(blocks: blocks, perSite: max(1, perSite))))
        self.onChange = onChange
    }

    /// 256 KiB: one write on the I/O pool per block (docs/PERFORMANCE.md).
    public static let defaultBlockBytes = 256 << 10
    /// 8 MiB: 32 blocks of 256 KiB (with 100 sites sending at once a 1 MiB budget did not lower
    /// their throughput on the test machine; docs/PERFORMANCE.md).
    public static let defaultTotalBytes = 8 << 20

    /// One block lent to a request; its buffer is `bytes` (capacity `blockBytes`). Not Sendable: it
    /// stays with the request that holds it; only copies of `bytes` cross to the I/O pool.
    public final class Block {
        public var bytes: [UInt8]
        let site: String
        let budget: BodyBudget
        /// When it was granted (the caller's clock, seconds).
        public let since: Double

        fileprivate init(bytes: [UInt8], site: String, budget: BodyBudget, since: Double) {
            self.bytes = bytes
            self.site = site
            self.budget = budget
            self.since = since
        }

        public var isFull: Bool { bytes.count >= budget.blockBytes }

        deinit {
            budget.giveBack(site: site, bytes: bytes)
        }
    }

    /// The bytes lent now and the blocks' state (tests, metrics).
    public var snapshot: (bytesInUse: Int, waiting: Int, waits: UInt64) {
        inner.withLock { ($0.state.inUse * blockBytes, $0.state.waiting.count, $0.waits) }
    }

    var state: BodyBudgetState { inner.withLock { $0.state } }

    /// Lends a block to a request of `site`, waiting (first come first served) while none may be
    /// lent. Throws `CancellationError` if the task is cancelled while it waits.
    public func acquire(site: String, now: Double = SiteGate.monotonicSeconds()) async throws -> Block {
        let (id, granted) = inner.withLock { i -> (UInt64, Bool) in
            i.nextID &+= 1
            return (i.nextID, i.state.acquire(i.nextID, site: site))
        }
        if !granted {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                    let early = inner.withLock { i -> Bool? in
                        if i.grantedEarly.remove(id) != nil { return true }
                        if i.cancelledEarly.remove(id) != nil { return false }
                        i.waiters[id] = c
                        return nil
                    }
                    switch early {
                    case true?: c.resume()
                    case false?: c.resume(throwing: CancellationError())
                    case nil: break
                    }
                }
            } onCancel: {
                let c = inner.withLock { i -> CheckedContinuation<Void, any Error>? in
                    guard i.state.cancel(id) else { return nil }  // granted meanwhile: the block is ours
                    guard let c = i.waiters.removeValue(forKey: id) else {
                        i.cancelledEarly.insert(id)
                        return nil
                    }
                    return c
                }
                c?.resume(throwing: CancellationError())
            }
        }
        let (bytes, inUse) = inner.withLock { i -> ([UInt8], Int) in
            if !granted { i.waits &+= 1 }
            return (i.spare.popLast() ?? [], i.state.inUse)
        }
        onChange(inUse * blockBytes, !granted)
        var buffer = bytes
        if buffer.capacity < blockBytes { buffer.reserveCapacity(blockBytes) }
        return Block(bytes: buffer, site: site, budget: self, since: now)
    }

    private func giveBack(site: String, bytes: [UInt8]) {
        var buffer = bytes
        buffer.removeAll(keepingCapacity: true)
        let (resume, inUse) = inner.withLock { i -> ([CheckedContinuation<Void, any Error>], Int) in
            if i.spare.count < blocks && buffer.capacity >= blockBytes { i.spare.append(buffer) }
            var resume: [CheckedContinuation<Void, any Error>] = []
            for id in i.state.release(site: site) {
                if let c = i.waiters.removeValue(forKey: id) { resume.append(c) } else { i.grantedEarly.insert(id) }
            }
            return (resume, i.state.inUse)
        }
        onChange(inUse * blockBytes, false)
        for c in resume { c.resume() }
    }
}
