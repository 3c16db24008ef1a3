#if canImport(Glibc)
import Glibc
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
import TributaryFiles
import TributaryProtocol

/// Sends built batches as tus uploads, in two lanes (`UploadLane`) that run side by side, each
/// with its own connection, its own `ChunkSizer` and highest priority first within the lane:
/// `fresh` sends segments (small objects packed together), `bulk` sends objects that go alone. A
/// multi-MB clip crawling over a bad link never holds back the telemetry behind it.
///
/// Every protocol decision is `UploadSession`'s (a pure state machine); this shell only executes
/// its actions — curl calls, journal writes — and feeds the answers back. A session that ends
/// with `retryLater` blames either the link (the shared `LinkState` backs off, both lanes wait) or
/// the batch (the core answered but did not take it: only that batch waits, with its own
/// backoff, and the lane sends its other batches meanwhile).
///
/// With several cores configured, each session goes to the current one (`AgentRuntime.currentCore`,
/// decided by `CoreFailover`): a batch whose upload was created on another core is created again
/// on this one (a tus upload URL belongs to one core and is never sent to another), and failures
/// that got no answer count towards failing over.
public final class UploaderService: Service, @unchecked Sendable {
    let context: AgentContext
    /// Per lane, one client per configured core (in the order of `core`).
    let clients: [UploadLane: [TusClient]]
    /// What each lane waits on: "a batch is built" (the batcher signals).
    let wakes: [UploadLane: Wakeup]
    /// What it signals: "a batch left the spool" (the batcher builds the next), "delivered" (reports).
    let spoolFreed: Wakeup
    let delivered: Wakeup
    /// What a change of the current core wakes (with several cores configured).
    let coreSwitched: CoreSwitchNotice
    let builder: BatchBuilder
    var configuration: EdgeConfiguration { context.configuration }
    var spool: SpoolIntake { context.spool }
    var runtime: AgentRuntime { context.runtime }
    var logger: Logger { context.logger }

    /// One client (connection) per lane and core, one wake-up per lane.
    public init(
        context: AgentContext, clients: [UploadLane: [TusClient]], wakes: [UploadLane: Wakeup], spoolFreed: Wakeup, delivered: Wakeup,
        coreSwitched: CoreSwitchNotice
    ) {
        precondition(Set(clients.keys) == Set(UploadLane.allCases), "clients per lane")
        precondition(clients.values.allSatisfy { $0.count == context.configuration.coreURLs.count }, "a client per core")
        precondition(Set(wakes.keys) == Set(UploadLane.allCases), "a wake-up per lane")
        self.context = context
        self.clients = clients
        self.wakes = wakes
        self.spoolFreed = spoolFreed
        self.delivered = delivered
        self.coreSwitched = coreSwitched
        builder = context.builder
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                for lane in UploadLane.allCases {
                    group.addTask { try await self.loop(lane: lane) }
                }
            }
        }
    }

    var limits: UploadSession.Limits {
        var l = UploadSession.Limits()
        l.maxCommitFailures = configuration.poisonAfterFailures
        return l
    }

    /// The longest an idle lane waits without a signal (a safety net: every new batch signals).
    static let idleMilliseconds = 30_000

    private func loop(lane: UploadLane) async throws {
        let laneClients = clients[lane]!
        let wake = wakes[lane]!
        var chunk = ChunkSizer(maximum: configuration.chunkBytes, floor: configuration.chunkFloorBytes)
        runtime.setChunk(chunk.current, lane: lane)
        // Batches the core answered but did not take: when each may be tried again (lane-local backoff).
        var waiting: [Int64: (until: Double, failures: Int)] = [:]
        while !Task.isCancelled {
            let backoff = runtime.secondsUntilAttempt()
            if backoff > 0 {
                await wake.wait(milliseconds: Int(min(backoff, 1) * 1000) + 1, clock: context.clock)
                _ = wake.consume()
                continue
            }
            let now = runtime.clock()
            let held = Set(waiting.filter { $0.value.until > now }.keys)
            let journal = spool.journal
            let batch: SpoolBatch?
            do {
                batch = try await BlockingThread.run { try journal.nextBatch(lane: lane, waiting: held) }
            } catch {
                logger.error("cannot read the journal", metadata: ["error": "\(error)"])
                await wake.wait(milliseconds: 1000, clock: context.clock)
                continue
            }
            guard let batch else {
                // Nothing to send: the batcher signals when it builds one. Batches held back by
                // their own backoff are looked at again in a second; otherwise a long safety timer.
                let held = !waiting.isEmpty
                waiting = [:]
                await wake.wait(milliseconds: held ? 1000 : Self.idleMilliseconds, clock: context.clock)
                continue
            }
            if let w = waiting[batch.id], w.until > now {
                // Every batch of the lane waits out its own backoff.
                await wake.wait(milliseconds: max(1, min(1000, Int((w.until - now) * 1000))), clock: context.clock)
                continue
            }
            let outcome: SessionOutcome
            let core = runtime.currentCore.index
            let client = laneClients[core]
            do {
                let limits = self.limits
                let start = chunk
                outcome = try await withTaskCancellationHandler {
                    try await BlockingThread.run { try self.deliver(batch, lane: lane, core: core, client: client, chunk: start, limits: limits) }
                } onCancel: {
                    client.cancel()
                }
            } catch {
                if Task.isCancelled { break }
                let delay = runtime.linkFailed("\(error)", core: core, unreachable: false).delay
                logger.error("upload failed", metadata: ["batch": "\(batch.id)", "error": "\(error)", "retry_in_s": "\(Int(delay.rounded()))"])
                runtime.setInFlight(nil, lane: lane)
                continue
            }
            runtime.setInFlight(nil, lane: lane)
            chunk = outcome.chunk
            runtime.setChunk(chunk.current, lane: lane)
            if Task.isCancelled { break }
            switch outcome.end {
            case .delivered, .released:
                waiting[batch.id] = nil
                runtime.linkSucceeded(core: core)
                if case .delivered = outcome.end { runtime.acknowledged() }
                spoolFreed.signal()
                delivered.signal()
            case .retry(let e, .batch):
                runtime.linkSucceeded(core: core)
                let failures = (waiting[batch.id]?.failures ?? 0) + 1
                let delay = LinkState.backoff(
                    failures: failures, baseSeconds: Double(configuration.retryBaseMilliseconds) / 1000,
                    capSeconds: Double(configuration.retryCapMilliseconds) / 1000, retryAfter: e.retryAfter, unit: runtime.random())
                waiting[batch.id] = (runtime.clock() + delay, failures)
                logger.warning("the core did not take a batch; it waits, the lane goes on", metadata: [
                    "batch": "\(batch.id)", "lane": "\(lane.rawValue)", "error": "\(e)", "retry_in_s": "\(delay.fixed(1))",
                ])
                delivered.signal()
            case .retry(let e, .link):
                if e.kind == .unauthorized {
                    let delay = runtime.linkFailed("the core refused the site token: \(e)", retryAfter: e.retryAfter, core: core, unreachable: false).delay
                    logger.error("the core refused this site's token; check site and token", metadata: ["error": "\(e)", "retry_in_s": "\(Int(delay.rounded()))"])
                } else {
                    let (delay, switched) = runtime.linkFailed(
                        "\(e)", retryAfter: e.retryAfter, core: core, unreachable: CoreFailover.isUnreachable(status: e.status))
                    if let switched { coreSwitched(switched) }
                    logger.warning("upload interrupted; will resume", metadata: [
                        "batch": "\(batch.id)", "lane": "\(lane.rawValue)", "error": "\(e)", "chunk_bytes": "\(chunk.current)",
                        "retry_in_s": "\(delay.fixed(1))",
                    ])
                }
            }
        }
    }

    /// How a session ended, and the lane's chunk size after it.
    struct SessionOutcome: Sendable {
        enum End: Sendable {
            case delivered
            case released
            case retry(UploadError, UploadSession.Blame)
        }
        var end: End
        var chunk: ChunkSizer
    }

    /// tus metadata of a batch.
    ///
    /// A segment's `sha256` is left out when the whole body goes in one PATCH (`oneChunk`: it fits
    /// the lane's chunk size), whose `Upload-Checksum` is then the sha256 of the whole body: the same
    /// check, 98 bytes fewer per upload (docs/PROTOCOL.md, "Integrity without the manifest's hashes").
    /// Should that PATCH be cut and the rest go in smaller chunks, each of those carries its own
    /// `Upload-Checksum` over bytes of the same immutable batch file. A segment sent in several chunks
    /// from the start keeps it. Single objects always keep theirs (the sha256 of the decoded object).
    static func metadata(_ batch: SpoolBatch, _ objects: [SpoolObject], dictionary: ZstdDictionary? = nil, oneChunk: Bool = false) -> UploadMetadata {
        switch batch.kind {
        case .segment:
            var m = UploadMetadata([MetadataKey.kind: "segment", MetadataKey.encoding: "zstd"])
            if !oneChunk { m[MetadataKey.sha256] = batch.sha256 }
            if let d = dictionary { m[MetadataKey.dictionary] = d.id }
            return m
        case .object:
            let o = objects[0]
            return UploadMetadata([
                MetadataKey.kind: "object", MetadataKey.stream: o.stream, MetadataKey.name: o.name, MetadataKey.sha256: o.sha256,
                MetadataKey.capturedAt: o.capturedAt, MetadataKey.encoding: batch.encoding.rawValue,
            ])
        }
    }

    /// The upload rate cap now, shared between the lanes sending at once.
    func currentRate() -> Int64 {
        var t = time_t(context.clock.now())
        var tmv = tm()
        localtime_r(&t, &tmv)
        let rate = configuration.bandwidthSchedule.rate(atMinute: Int(tmv.tm_hour) * 60 + Int(tmv.tm_min), otherwise: configuration.bandwidthBytesPerSecond)
        return rate > 0 ? max(1, rate / Int64(max(1, runtime.activeLanes))) : rate
    }

    /// Runs one `UploadSession` for `batch` to its end, executing its actions. Blocking.
    func deliver(_ batch: SpoolBatch, lane: UploadLane, core: Int, client: TusClient, chunk: ChunkSizer, limits: UploadSession.Limits) throws -> SessionOutcome {
        let journal = spool.journal
        let objects = try journal.objects(inBatch: batch.id)
        guard !objects.isEmpty else {
            // Its objects were all acknowledged by an earlier receipt: nothing left to send.
            _ = try journal.releaseBatch(batch.id, quarantine: [], reason: "", at: Timestamp.format(context.clock.date))
            return SessionOutcome(end: .released, chunk: chunk)
        }
        var uploadURL = batch.uploadURL
        var sent = batch.uploadOffset
        if let url = uploadURL, !CoreFailover.upload(url, isOn: client.baseURL) {
            // Created on another core than this session's (before a fail-over): never PATCHed here. Created again on
            // this core, whose dedup and have-check spare what it holds already; the other core's
            // partial upload expires there.
            try journal.setUpload(batch: batch.id, url: nil)
            logger.notice("the batch's upload is on another core; created again on the current one", metadata: [
                "batch": "\(batch.id)", "upload": "\(url)", "core": "\(client.baseURL)",
            ])
            uploadURL = nil
            sent = 0
        }
        let inFlight = AgentRuntimeStatus.InFlight(
            batchID: batch.id, kind: batch.kind.rawValue, objects: objects.count, bytes: batch.size, sent: sent,
            uploadURL: uploadURL, startedAt: Timestamp.format(context.clock.date))
        runtime.setInFlight(inFlight, lane: lane)

        let path = spool.directory + "/" + batch.file
        let fd: Int32
        do { fd = try FileIO.open(path, O_RDONLY) } catch {
            // The batch file is gone or unreadable: never retried as is; its objects are checked
            // (intact ones are batched again, a missing or damaged one is quarantined).
            try release(batch, objects: objects, how: .reverify, reason: "batch file unreadable: \(error)")
            return SessionOutcome(end: .released, chunk: chunk)
        }
        defer { close(fd) }
        let dictionary: ZstdDictionary?
        do { dictionary = batch.kind == .segment ? try context.dictionaries.dictionary(ofSegment: fd, path: path) : nil } catch {
            // The segment names a dictionary this spool lost: it cannot be decoded anywhere; rebuild.
            try release(batch, objects: objects, how: .reverify, reason: "\(error)")
            return SessionOutcome(end: .released, chunk: chunk)
        }
        var session = UploadSession(
            size: batch.size, uploadURL: uploadURL, creationRefusals: batch.attempts, commitFailures: batch.commitFailures,
            chunk: chunk, limits: limits)
        let body = SessionBody(
            fd: fd, size: batch.size, metadata: Self.metadata(batch, objects, dictionary: dictionary, oneChunk: batch.size <= chunk.current),
            entries: objects.map { ReceiptEntry(stream: $0.stream, name: $0.name, sha256: $0.sha256, size: $0.size) })
        let batchJournal = BatchSessionJournal(
            journal: journal, runtime: runtime, logger: logger, batch: batch, lane: lane, core: core, inFlight: inFlight,
            levels: context.levels)
        let end: SessionEnd
        do {
            end = try SessionDriver.run(
                &session, client: client, body: body, journal: batchJournal,
                digest: { offset, length in try chunkDigest(fd: fd, path: path, offset: offset, length: length) },
                rate: {
                    let rate = currentRate()
                    runtime.setBandwidth(rate)
                    context.levels.setLinkCap(rate)
                    return rate
                },
                create: { () throws(UploadError) -> (url: String, committed: Bool) in
                    let c: (url: String, committed: Bool)
                    do throws(UploadError) {
                        c = try client.create(length: body.size, metadata: body.metadata)
                    } catch {
                        // The core does not hold the segment's dictionary yet: send it once, create again.
                        guard error.code == TributaryError.Code.unknownDictionary.rawValue, let d = dictionary else { throw error }
                        try client.putDictionary(d)
                        c = try client.create(length: body.size, metadata: body.metadata)
                    }
                    CrashPoints.hit("upload.after-create")
                    return c
                })
        } catch let e as UploadError where e.code == Self.batchFileShort {
            // The batch file is shorter than journaled: never send it; check the objects.
            try release(batch, objects: objects, how: .reverify, reason: e.description)
            return SessionOutcome(end: .released, chunk: session.chunk)
        }
        switch end {
        case .acknowledged(let receipt):
            CrashPoints.hit("upload.after-commit")
            let ack = try journal.acknowledge(batch: batch.id, receipt: receipt)
            for f in ack.filesToRemove { unlink(spool.directory + "/" + f) }
            logger.info("delivered", metadata: [
                "batch": "\(batch.id)", "kind": "\(batch.kind.rawValue)", "stored": "\(ack.stored)", "duplicates": "\(ack.duplicates)",
                "bytes": "\(ack.bytes)", "upload_bytes": "\(batch.size)", "upload": "\(receipt.uploadID)",
            ])
            if ack.unnamed > 0 {
                logger.error("the receipt did not name \(ack.unnamed) object(s) of the batch; they stay pending and will be sent again", metadata: ["batch": "\(batch.id)"])
            }
            return SessionOutcome(end: .delivered, chunk: session.chunk)
        case .released(let how, let reason):
            try release(batch, objects: objects, how: how, reason: reason)
            return SessionOutcome(end: .released, chunk: session.chunk)
        case .retry(let e, let blame):
            return SessionOutcome(end: .retry(e, blame), chunk: session.chunk)
        }
    }

    /// The code of the error `chunkDigest` throws for a batch file shorter than journaled.
    static let batchFileShort = "batch_file_short"

    /// The sha256 of a chunk (read from the page cache; sent from the same file).
    private func chunkDigest(fd: Int32, path: String, offset: UInt64, length: UInt64) throws -> [UInt8] {
        guard let sha = try FileIO.sha256(fd, offset: offset, length: length, path) else {
            throw UploadError(kind: .rejected, status: nil, code: Self.batchFileShort, message: "\(path) is shorter than journaled")
        }
        return sha
    }

    /// The session gave up on the batch for good: never re-send it as is.
    /// - `requeue`: its objects go back to pending (re-batched with their bytes);
    /// - `reverify`: objects whose spool file no longer matches its sha256 are quarantined, the
    ///   others go back to pending, each counting a rejection (`Journal.maxRejections` → quarantine);
    /// - `quarantine`: the whole batch is set aside with the reason (`retry-quarantined` puts it back).
    private func release(_ batch: SpoolBatch, objects: [SpoolObject], how: UploadSession.Release, reason: String) throws {
        let journal = spool.journal
        let now = Timestamp.format(context.clock.date)
        try journal.count("batches_rejected")
        let released: (file: String?, quarantined: Int)
        switch how {
        case .requeue:
            released = try journal.releaseBatch(batch.id, quarantine: [], reason: reason, at: now)
        case .reverify:
            let corrupt = objects.filter { !builder.verify($0) }.map(\.id)
            released = try journal.releaseBatch(batch.id, quarantine: corrupt, countRejection: true, reason: reason, at: now)
        case .quarantine:
            try journal.count("batches_quarantined")
            released = try journal.releaseBatch(batch.id, quarantine: objects.map(\.id), reason: reason, at: now)
        }
        if let f = released.file { unlink(spool.directory + "/" + f) }
        logger.error(how == .quarantine ? "a batch the core will not take was set aside (quarantined); the rest flows" : "the core refused a batch", metadata: [
            "batch": "\(batch.id)", "reason": "\(reason)", "objects": "\(objects.count)", "quarantined": "\(released.quarantined)",
            "requeued": "\(objects.count - released.quarantined)",
        ])
    }
}
