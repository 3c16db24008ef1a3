#if canImport(Glibc)
import Glibc
import CPosix
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import ServiceLifecycle
import TributaryCurl
import TributaryDelivery
import TributaryProtocol

/// Builds batches just in time: at most `batches_ahead` wait built, so while the link is down
/// objects stay pending (and evictable by drop-oldest) instead of piling up as segment files, and
/// a high-priority object that arrives is packed next. Before building, asks the core which
/// contents it already holds (have-check); those go as references, without their bytes.
public final class BatcherService: Service, @unchecked Sendable {
    let context: AgentContext
    /// One per configured core: the have-check asks the current one.
    let clients: [TusClient]
    let planner: BatchPlanner
    let builder: BatchBuilder
    var configuration: EdgeConfiguration { context.configuration }
    var spool: SpoolIntake { context.spool }
    var runtime: AgentRuntime { context.runtime }
    var logger: Logger { context.logger }
    /// What it waits on: objects accepted (intake, S3 sources, the doorbell `put` rings), spool
    /// space freed (upload lanes).
    let wake: Wakeup
    /// What it signals: one per upload lane, "a batch is built".
    let lanes: [Wakeup]
    /// What a change of the current core wakes (with several cores configured).
    let coreSwitched: CoreSwitchNotice
    /// When the heap's free pages go back to the kernel: once a burst is over.
    var heapTrim = HeapTrim()

    public init(context: AgentContext, clients: [TusClient], wake: Wakeup, lanes: [Wakeup], coreSwitched: CoreSwitchNotice) {
        self.context = context
        self.clients = clients
        self.wake = wake
        self.lanes = lanes
        self.coreSwitched = coreSwitched
        planner = BatchPlanner(configuration: context.configuration)
        builder = context.builder
    }

    /// The longest the batcher waits with nothing pending and no signal (a safety net: every
    /// way objects arrive signals it).
    static let idleMilliseconds = 60_000

    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await self.loop() }
    }

    private func loop() async throws {
        while !Task.isCancelled {
            var waitMs = 1000
            do {
                if let next = try await step() {
                    waitMs = next
                } else {
                    for lane in lanes { lane.signal() }
                    continue
                }
            } catch {
                logger.error("batching failed; will retry", metadata: ["error": "\(error)"])
                waitMs = 2000
            }
            await wake.wait(milliseconds: waitMs, clock: context.clock)
        }
    }

    /// Builds at most one batch. Returns nil when it built one, else how long to wait (ms).
    func step() async throws -> Int? {
        let journal = spool.journal
        // Each lane has its own `batches_ahead`: a full bulk lane never stops segments being built.
        // Journal reads block: on their own thread, not the cooperative pool.
        let (room, freshQueued, queued, candidates) = try await BlockingThread.run { [configuration] in
            let counts = try Dictionary(uniqueKeysWithValues: UploadLane.allCases.map { ($0, try journal.batchCount(lane: $0)) })
            let room = UploadLane.allCases.filter { (counts[$0] ?? 0) < configuration.batchesAhead }
            return (room, counts[.fresh] ?? 0, counts.values.reduce(0, +),
                    room.isEmpty ? [] : try journal.pendingObjects(limit: max(2 * configuration.segmentMaxObjects, 1000)))
        }
        guard !room.isEmpty else { return 1000 }
        if queued == 0 {
            // No built batch can reference a dictionary that is no stream's current one any more.
            try await BlockingThread.run { [context] in context.dictionaries.pruneStale() }
        }
        // Nothing pending: intake and the S3 sources signal new objects, and so does the doorbell
        // that `put` rings from another process (`DoorbellService`): only a safety timer.
        guard !candidates.isEmpty else {
            if heapTrim.idle() {
                #if canImport(Glibc)
                _ = try await BlockingThread.run { tributary_malloc_trim() }
                #endif
            }
            return Self.idleMilliseconds
        }
        // Nagle style: with nothing queued on the fresh lane and the link usable, a finished burst
        // goes at once instead of waiting out the segment age.
        let freshIdle = freshQueued == 0 && runtime.secondsUntilAttempt() <= 0
        let (lanes, waitSeconds) = planner.dueLanes(candidates, now: context.clock.date, lanes: Set(room), freshIdle: freshIdle)
        guard !lanes.isEmpty else { return max(20, min(1000, Int(waitSeconds * 1000) + 5)) }
        // The link decides when the core may be asked; the uploader and this share its backoff.
        let backoff = runtime.secondsUntilAttempt()
        guard backoff <= 0 else { return max(50, min(1000, Int(backoff * 1000))) }

        let core = runtime.currentCore.index
        let client = clients[core]
        // Objects too small to be worth asking about go with their bytes (the core still dedups them).
        let hashes = Array(Set(candidates.filter { $0.size >= configuration.haveCheckMinBytes }.map(\.sha256)))
        let held: Set<String>
        do {
            held = try await BlockingThread.run { () throws(UploadError) -> Set<String> in try client.have(hashes) }
            runtime.linkSucceeded(core: core)
        } catch let e as UploadError {
            let (delay, switched) = runtime.linkFailed(
                "have-check: \(e)", retryAfter: e.retryAfter, core: core, unreachable: CoreFailover.isUnreachable(status: e.status))
            if let switched {
                coreSwitched(switched)
                return 0
            }
            logger.warning("cannot reach the core for the have-check; objects stay pending", metadata: ["error": "\(e)", "retry_in_s": "\(Int(delay.rounded()))"])
            return max(50, Int(delay * 1000))
        }
        var next = planner.plan(candidates, held: held, lanes: lanes)
        if next == nil, room.contains(.fresh) {
            // A large object the core already holds goes as a reference in a segment (no bytes):
            // only the have-check can tell, so it was counted for the bulk lane. Send the references now.
            let refs = candidates.filter { held.contains($0.sha256) }
            if !refs.isEmpty { next = planner.plan(refs, held: held, lanes: [.fresh]) }
        }
        guard let plan = next else { return 1000 }
        let builder = self.builder
        let now = Timestamp.format(context.clock.date)
        do {
            switch plan {
            case .single(let o, let compress):
                let built: BuiltBatch? = compress ? try await BlockingThread.run { try builder.buildCompressed(o) } : nil
                let id = try await BlockingThread.run {
                    try journal.addBatch(
                        kind: .object, encoding: built == nil ? .identity : .zstd, file: built?.file ?? o.file,
                        size: built?.size ?? o.size, sha256: o.sha256, priority: o.priority, createdAt: now, objectIDs: [o.id])
                }
                if id == nil, let f = built?.file { unlink(spool.directory + "/" + f) }
                logger.debug("batched a large object", metadata: ["batch": "\(id.map(String.init) ?? "void")", "stream": "\(o.stream)", "name": "\(Names.printable(o.name))", "encoding": "\(built == nil ? "identity" : "zstd")"])
            case .segment(let entries):
                let built = try await BlockingThread.run { try builder.buildSegment(entries) }
                let ids = entries.map(\.object.id)
                let priority = entries.map(\.object.priority).max() ?? 0
                let id = try await BlockingThread.run {
                    try journal.addBatch(
                        kind: .segment, encoding: .zstd, file: built.file, size: built.size, sha256: built.sha256,
                        priority: priority, createdAt: now, objectIDs: ids)
                }
                if id == nil { unlink(spool.directory + "/" + built.file) }
                let raw = entries.filter { !$0.ref }.reduce(UInt64(0)) { $0 + $1.object.size }
                logger.debug("built a segment", metadata: [
                    "batch": "\(id.map(String.init) ?? "void")", "objects": "\(entries.count)", "refs": "\(entries.filter(\.ref).count)",
                    "bytes": "\(raw)", "compressed": "\(built.size)", "dictionary": "\(built.dictionary ?? "none")",
                ])
            }
            heapTrim.built()
        } catch let c as CorruptSpoolObject {
            logger.error("a spool object no longer matches its journaled sha256; quarantined, not sent", metadata: ["object": "\(c.objectID)", "reason": "\(c.reason)"])
            try await BlockingThread.run { try journal.quarantinePending(c.objectID, reason: c.reason, at: now) }
        }
        return nil
    }
}

/// When the batcher gives the heap's free pages back to the kernel (`malloc_trim`): when nothing is
/// pending after it built at least one batch since the last trim — the end of a burst, when intake's
/// and batching's working set has just been freed. Never while idle (nothing to give back) nor in a
/// burst (the pages would be taken again at once).
struct HeapTrim: Equatable {
    private(set) var builtSinceTrim = 0

    /// A batch was built.
    mutating func built() { builtSinceTrim += builtSinceTrim < Int.max ? 1 : 0 }

    /// Nothing is pending: whether to trim now.
    mutating func idle() -> Bool {
        defer { builtSinceTrim = 0 }
        return builtSinceTrim > 0
    }
}
