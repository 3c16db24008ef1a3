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

/// Ships every committed upload of this core to an upstream core (docs/REPLICATION.md,
/// "Forwarding"), with the edge's protocol and delivery code (`TributaryDelivery`): a have-check,
/// a segment written from the lake, a resumable tus upload, the receipt.
///
/// The shell around `ForwardPlanner` (the decisions) and `UploadSession` (the protocol): it reads
/// the next upload after the durable cursor (`Catalog.forwardItems`), executes what the planner
/// decides and moves the cursor (`Catalog.advanceForward`) only once the upstream's receipt named
/// every arrival of the upload. A crash anywhere re-sends at most the upload in hand, which the
/// upstream's per-site dedup turns into `duplicate` arrivals (no content stored twice); a resumed
/// session continues the same upload at the upstream (its URL is in the session journal).
///
/// Each upload goes as it was committed here: one upstream upload per original upload, filed
/// under its original site (`site`) with its original receive time (`received-at`), captured-at
/// per object in the segment's manifest. curl runs on its own threads (`BlockingThread`), file
/// writes on `BlockingPools.io`.
public final class ForwarderService: Service, @unchecked Sendable {
    let configuration: ForwardConfiguration
    let catalog: any Catalog
    let lake: any LakeStore
    let coreID: String
    let logger: Logger
    let client: TusClient
    let spool: ForwardSpool
    /// Signalled after each commit of this core (and by tests): the idle forwarder wakes at once.
    public let wake = Wakeup()
    /// Read by `/metrics` and the fleet view.
    public let status: ForwardStatus
    let clock: @Sendable () -> Double

    /// The longest the caught-up forwarder sleeps without a signal (commits of other nodes sharing
    /// the catalog do not signal this one).
    static let idleMilliseconds = 2_000
    /// Bytes read from the lake at a time.
    static let readBytes = 1 << 20

    public var target: String { configuration.url }

    public init(
        configuration: ForwardConfiguration, catalog: any Catalog, lake: any LakeStore, coreID: String, spoolRoot: String, logger: Logger,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) throws {
        self.configuration = configuration
        self.catalog = catalog
        self.lake = lake
        self.coreID = coreID
        self.logger = logger
        self.clock = clock
        var options = TransferOptions()
        options.caFile = configuration.caFile
        options.maxResponseBytes = 16 << 20
        client = TusClient(baseURL: configuration.url, token: configuration.token, options: options)
        spool = try ForwardSpool(root: spoolRoot, target: configuration.url)
        status = ForwardStatus(target: configuration.url, rpoSeconds: configuration.rpoSeconds)
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.loop() }
        } catch is CancellationError {
            return
        }
    }

    private func loop() async throws {
        var limits = ForwardPlanner.Limits()
        limits.maxStrikes = configuration.maxStrikes
        var planner = ForwardPlanner(now: clock(), limits: limits)
        var chunk = ChunkSizer(maximum: configuration.chunkBytes, floor: min(configuration.chunkBytes, 256 << 10))
        var swept = Int64(-1)
        while !Task.isCancelled {
            let cursor: ForwardCursor
            let next: ForwardItem?
            do {
                cursor = try await catalog.forwardCursor(target: target)
                next = try await catalog.forwardItems(after: cursor.position, limit: 1).first
            } catch {
                logger.warning("forwarding: catalog unavailable", metadata: ["error": "\(error)"])
                await wake.wait(milliseconds: 1000)
                continue
            }
            if swept != cursor.position {
                spool.sweep(through: cursor.position)
                swept = cursor.position
            }
            planner.targetCoreID = status.targetCoreID
            switch planner.decide(next: next, now: clock()) {
            case .idle:
                status.caughtUp(at: clock())
                await wake.wait(milliseconds: Self.idleMilliseconds)
            case .wait(let seconds):
                await wake.wait(milliseconds: max(1, min(Int(seconds * 1000) + 1, 5_000)))
                _ = wake.consume()
            case .skip(let item, let reason):
                logger.info("forwarding: not sent", metadata: ["upload.id": "\(item.uploadID)", "forward.seq": "\(item.seq)", "reason": "\(reason)"])
                if (try? await advance(item, setAside: nil)) != nil { status.skipped() }
                planner.passed(item)
            case .setAside(let item, let reason):
                logger.error("forwarding: an upload the upstream will not take was set aside; the rest flows", metadata: [
                    "upload.id": "\(item.uploadID)", "forward.seq": "\(item.seq)", "reason": "\(reason)",
                ])
                if (try? await advance(item, setAside: ForwardSetAside(seq: item.seq, uploadID: item.uploadID, reason: reason))) != nil {
                    status.setAside()
                }
                planner.passed(item)
            case .send(let item):
                let outcome = await send(item, chunk: &chunk, planner: planner)
                if Task.isCancelled { return }
                if planner.ended(item, outcome, now: clock(), unit: Double.random(in: 0..<1)),
                   (try? await advance(item, setAside: nil)) != nil {
                    status.delivered(at: clock())
                }
                if case .linkFailed(let reason, _) = outcome {
                    status.failed(reason, at: clock())
                    logger.warning("forwarding: upstream unreachable; will resume", metadata: ["error": "\(reason)", "forward.seq": "\(item.seq)"])
                } else if case .refused(let reason, _, _) = outcome {
                    logger.warning("forwarding: the upstream did not take an upload; it waits", metadata: ["error": "\(reason)", "forward.seq": "\(item.seq)"])
                } else if case .unreadable(let reason) = outcome {
                    logger.error("forwarding: cannot read an upload back from the lake", metadata: ["error": "\(reason)", "forward.seq": "\(item.seq)"])
                }
            }
        }
    }

    /// Moves the cursor past `item` and forgets its files. A failure is logged; the next round
    /// reads the cursor again (and finds the upload still in hand: re-sent, deduplicated upstream).
    private func advance(_ item: ForwardItem, setAside: ForwardSetAside?) async throws {
        do {
            try await catalog.advanceForward(target: target, to: item.seq, at: Timestamp.format(Date()), setAside: setAside)
        } catch {
            logger.warning("forwarding: cannot move the cursor", metadata: ["error": "\(error)"])
            throw error
        }
        spool.discard(item.seq)
    }

    // MARK: One upload

    private func send(_ item: ForwardItem, chunk: inout ChunkSizer, planner: ForwardPlanner) async -> ForwardPlanner.Outcome {
        var state: ForwardSessionState
        if let kept = spool.load(item.seq) {
            state = kept
        } else {
            spool.discard(item.seq)
            let held: Set<String>
            do {
                let hashes = Array(Set(item.arrivals.map(\.sha256))).sorted()
                let site = item.site
                let client = self.client
                held = try await BlockingThread.run { () throws -> Set<String> in try client.have(hashes, site: site) }
            } catch let e as UploadError {
                return Self.outcome(e)
            } catch {
                return .linkFailed(reason: "\(error)", retryAfter: nil)
            }
            status.learned(coreID: client.peerCoreID)
            if let target = client.peerCoreID, CorePath.mustNotSend(item, to: target) {
                // Learned just now: the planner skips it on the next round, without a creation.
                return .refused(reason: "core \(target) is on the upload's path", final: false, retryAfter: 0)
            }
            do {
                state = try await build(item, held: held)
            } catch let e as ForwardReadError {
                return .unreadable(reason: e.message)
            } catch {
                return .unavailable(reason: "\(error)")
            }
        }
        let body: SessionBody
        let fd: Int32
        do {
            fd = try FileIO.open(spool.bodyPath(item.seq), O_RDONLY)
        } catch {
            spool.discard(item.seq)
            return .unavailable(reason: "\(error)")
        }
        defer { close(fd) }
        body = SessionBody(fd: fd, size: state.size, metadata: metadata(item, sha256: state.sha256), entries: item.arrivals.map {
            ReceiptEntry(stream: $0.stream, name: $0.name, sha256: $0.sha256, size: $0.size)
        })
        var session = UploadSession(
            size: state.size, uploadURL: state.url, creationRefusals: state.creationRefusals, commitFailures: state.commitFailures, chunk: chunk)
        let journal = ForwardJournal(spool: spool, state: state)
        let client = self.client
        let path = spool.bodyPath(item.seq)
        let rate: @Sendable () -> Int64 = { [configuration] in Self.rate(configuration) }
        let end: SessionEnd
        do {
            let start = session
            (end, session) = try await withTaskCancellationHandler {
                try await BlockingThread.run { () throws -> (SessionEnd, UploadSession) in
                    var s = start
                    let end = try SessionDriver.run(
                        &s, client: client, body: body, journal: journal, digest: { try Self.digest(fd: fd, path: path, offset: $0, length: $1) }, rate: rate)
                    return (end, s)
                }
            } onCancel: {
                client.cancel()
            }
        } catch {
            return .unavailable(reason: "forward journal: \(error)")
        }
        chunk = session.chunk
        status.sent(bytes: journal.sentBytes)
        status.learned(coreID: client.peerCoreID)
        switch end {
        case .acknowledged(let receipt):
            if let missing = Self.unnamed(item, receipt) {
                spool.discard(item.seq)
                return .refused(reason: "the upstream's receipt does not name \(missing)", final: false, retryAfter: nil)
            }
            logger.info("forwarded", metadata: [
                "upload.id": "\(item.uploadID)", "forward.seq": "\(item.seq)", "site.id": "\(item.site)", "objects": "\(item.arrivals.count)",
                "bytes": "\(state.size)", "upstream.upload": "\(receipt.uploadID)",
            ])
            return .delivered
        case .released(.quarantine, let reason):
            return .refused(reason: reason, final: true, retryAfter: nil)
        case .released(_, let reason):
            // A reference the upstream no longer holds, or content it refused: build again.
            spool.discard(item.seq)
            return .refused(reason: reason, final: false, retryAfter: nil)
        case .retry(let e, .batch):
            return .refused(reason: e.description, final: false, retryAfter: e.retryAfter)
        case .retry(let e, _) where e.code == "forward_loop":
            // The upstream is on the path (its id is learned from this very answer): the planner
            // skips the upload from now on.
            return .refused(reason: e.description, final: false, retryAfter: 0)
        case .retry(let e, .link):
            return Self.outcome(e)
        }
    }

    static func outcome(_ e: UploadError) -> ForwardPlanner.Outcome {
        .linkFailed(reason: e.description, retryAfter: e.retryAfter)
    }

    /// The tus metadata of a forwarded upload: a segment filed under the original site, with
    /// the original receive time and this core's place on the path.
    func metadata(_ item: ForwardItem, sha256: String) -> UploadMetadata {
        var m = UploadMetadata([
            MetadataKey.kind: "segment", MetadataKey.sha256: sha256, MetadataKey.encoding: "zstd", MetadataKey.site: item.site,
        ])
        if let received = item.arrivals.first?.receivedAt { m[MetadataKey.receivedAt] = received }
        let hops = CorePath.forwarded(item, by: coreID)
        m[MetadataKey.originCore] = hops.origin
        m[MetadataKey.corePath] = hops.path.joined(separator: ",")
        return m
    }

    /// The first arrival of `item` the receipt does not name (stream, name, sha256), or nil.
    static func unnamed(_ item: ForwardItem, _ receipt: CommitReceipt) -> String? {
        var named: [String: Int] = [:]
        for o in receipt.objects { named[o.stream + "/" + o.name + "/" + o.sha256, default: 0] += 1 }
        for a in item.arrivals {
            let k = a.stream + "/" + a.name + "/" + a.sha256
            guard let n = named[k], n > 0 else { return "\(a.stream)/\(Names.printable(a.name))" }
            named[k] = n - 1
        }
        return nil
    }

    /// The send-rate cap now (bytes/s; 0 unlimited), from the schedule as on the edge.
    static func rate(_ c: ForwardConfiguration) -> Int64 {
        var t = time(nil)
        var tmv = tm()
        localtime_r(&t, &tmv)
        return c.bandwidthSchedule.rate(atMinute: Int(tmv.tm_hour) * 60 + Int(tmv.tm_min), otherwise: c.bandwidthBytesPerSecond)
    }

    static func digest(fd: Int32, path: String, offset: UInt64, length: UInt64) throws -> [UInt8] {
        guard let sha = try FileIO.sha256(fd, offset: offset, length: length, path) else {
            throw TributaryError(.io, "\(path) is shorter than its journal says")
        }
        return sha
    }
}

/// An object of an upload could not be read back from this core's lake as the catalog records it.
struct ForwardReadError: Error, Sendable {
    var message: String
}
