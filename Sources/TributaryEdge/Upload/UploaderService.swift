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
import TributaryFiles
import TributaryProtocol

/// Sends built batches, one at a time, highest priority first, as tus uploads:
///
///   no upload URL → POST (creation) → URL journaled before any byte is sent
///   URL known (resume after a failure or a restart) → HEAD → the core's durable offset
///   PATCH chunk by chunk (`chunk_bytes`, each with `Upload-Checksum: sha256`), rate-capped
///   the last PATCH commits → GET receipt → acknowledge: one journal transaction removes every
///   object the receipt names stored or duplicate, then their files are unlinked.
///
/// A cut link costs at most the chunk in flight. A chunk damaged on the way (460) is re-sent at
/// once. A refused batch (422/413/400) is never re-sent as is: objects whose spool file fails its
/// sha256 are quarantined, the others go back to pending; a batch refused three times has its
/// objects quarantined (kept on disk, counted, listed by `status`), so nothing loops forever and
/// nothing is lost silently.
public final class UploaderService: Service, @unchecked Sendable {
    let context: AgentContext
    let client: TusClient
    let builder: BatchBuilder
    var configuration: EdgeConfiguration { context.configuration }
    var spool: Spool { context.spool }
    var runtime: AgentRuntime { context.runtime }
    var logger: Logger { context.logger }
    var wake: Wakeup { context.uploaderWake }
    var batcherWake: Wakeup { context.batcherWake }
    /// Creations answered 400/413 before the batch is believed refused.
    static let maxRejections = 3

    public init(context: AgentContext, client: TusClient) {
        self.context = context
        self.client = client
        builder = context.builder
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await self.loop() }
    }

    private func loop() async throws {
        while !Task.isCancelled {
            let backoff = runtime.secondsUntilAttempt()
            if backoff > 0 {
                try? await Task.sleep(for: .milliseconds(Int(min(backoff, 1) * 1000) + 1))
                continue
            }
            let batch: SpoolBatch?
            do {
                batch = try spool.journal.nextBatch()
            } catch {
                logger.error("cannot read the journal", metadata: ["error": "\(error)"])
                await wake.wait(milliseconds: 1000)
                continue
            }
            guard let batch else {
                await wake.wait(milliseconds: 1000)
                continue
            }
            let client = self.client
            do {
                try await withTaskCancellationHandler {
                    try await BlockingThread.run { try self.send(batch) }
                } onCancel: {
                    client.cancel()
                }
                runtime.linkSucceeded()
                runtime.acknowledged()
                batcherWake.signal()
                context.reportWake.signal()
            } catch let e as UploadError {
                if Task.isCancelled { break }
                handle(e, batch: batch)
            } catch {
                if Task.isCancelled { break }
                let delay = runtime.linkFailed("\(error)")
                logger.error("upload failed", metadata: ["batch": "\(batch.id)", "error": "\(error)", "retry_in_s": "\(Int(delay.rounded()))"])
            }
            runtime.setInFlight(nil)
        }
    }

    private func handle(_ e: UploadError, batch: SpoolBatch) {
        switch e.kind {
        case .rejected:
            runtime.linkSucceeded()
            reject(batch, e)
        case .unauthorized:
            let delay = runtime.linkFailed("the core refused the site token: \(e)", retryAfter: e.retryAfter)
            logger.error("the core refused this site's token; check site and token", metadata: ["error": "\(e)", "retry_in_s": "\(Int(delay.rounded()))"])
        default:
            let delay = runtime.linkFailed("\(e)", retryAfter: e.retryAfter)
            logger.warning("upload interrupted; will resume", metadata: [
                "batch": "\(batch.id)", "error": "\(e)", "retry_in_s": "\(String(format: "%.1f", delay))",
            ])
        }
    }

    /// tus metadata of a batch.
    static func metadata(_ batch: SpoolBatch, _ objects: [SpoolObject]) -> UploadMetadata {
        switch batch.kind {
        case .segment:
            return UploadMetadata([MetadataKey.kind: "segment", MetadataKey.sha256: batch.sha256, MetadataKey.encoding: "zstd"])
        case .object:
            let o = objects[0]
            return UploadMetadata([
                MetadataKey.kind: "object", MetadataKey.stream: o.stream, MetadataKey.name: o.name, MetadataKey.sha256: o.sha256,
                MetadataKey.capturedAt: o.capturedAt, MetadataKey.encoding: batch.encoding.rawValue,
            ])
        }
    }

    /// The upload rate cap now.
    func currentRate() -> Int64 {
        var t = time(nil)
        var tmv = tm()
        localtime_r(&t, &tmv)
        return configuration.bandwidthSchedule.rate(atMinute: Int(tmv.tm_hour) * 60 + Int(tmv.tm_min), otherwise: configuration.bandwidthBytesPerSecond)
    }

    /// Sends one batch to its commit and acknowledges it. Blocking.
    func send(_ batch: SpoolBatch) throws {
        let journal = spool.journal
        let objects = try journal.objects(inBatch: batch.id)
        guard !objects.isEmpty else {
            // Its objects were all acknowledged by an earlier receipt: nothing left to send.
            _ = try journal.releaseBatch(batch.id, quarantine: [], reason: "", at: Timestamp.format(Date()))
            return
        }
        var inFlight = AgentRuntimeStatus.InFlight(
            batchID: batch.id, kind: batch.kind.rawValue, objects: objects.count, bytes: batch.size, sent: batch.uploadOffset,
            uploadURL: batch.uploadURL, startedAt: Timestamp.format(Date()))
        runtime.setInFlight(inFlight)

        var url = batch.uploadURL
        var remote = RemoteUpload(offset: 0, length: batch.size, state: .receiving)
        if let u = url {
            switch Result(catching: { () throws(UploadError) -> RemoteUpload in try client.head(u) }) {
            case .success(let r):
                remote = r
                runtime.linkSucceeded()
                logger.info("resuming an upload", metadata: ["batch": "\(batch.id)", "offset": "\(remote.offset)", "length": "\(remote.length)", "state": "\(remote.state.rawValue)"])
            case .failure(let e):
                guard e.kind == .gone else { throw e }
                logger.info("the core no longer has this upload (expired, or its node is gone); starting it again", metadata: ["batch": "\(batch.id)", "url": "\(u)"])
                try journal.setUpload(batch: batch.id, url: nil)
                url = nil
            }
        }
        if url == nil {
            let created: (url: String, committed: Bool)
            switch Result(catching: { () throws(UploadError) -> (url: String, committed: Bool) in
                try client.create(length: batch.size, metadata: Self.metadata(batch, objects))
            }) {
            case .success(let c): created = c
            case .failure(var e):
                // The metadata passed the same checks here at intake: a 400/413 may be a request
                // damaged on the way. Retry (with backoff) before believing it.
                if e.kind == .rejected, try journal.countAttempt(batch: batch.id) < Self.maxRejections { e.kind = .transient }
                throw e
            }
            CrashPoints.hit("upload.after-create")
            try journal.setUpload(batch: batch.id, url: created.url)
            runtime.linkSucceeded()
            url = created.url
            remote = RemoteUpload(offset: created.committed ? batch.size : 0, length: batch.size, state: created.committed ? .committed : .receiving)
            inFlight.uploadURL = created.url
            runtime.setInFlight(inFlight)
        }
        guard let url else { return }
        guard remote.length == batch.size else {
            throw UploadError(kind: .rejected, status: nil, code: "length_mismatch", message: "the core's upload has length \(remote.length), the batch \(batch.size)")
        }

        if remote.state != .committed {
            let path = spool.directory + "/" + batch.file
            let fd = try FileIO.open(path, O_RDONLY)
            defer { close(fd) }
            var offset = remote.offset
            var committed = false
            var resends = 0
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            while !committed {
                let length = min(configuration.chunkBytes, batch.size - offset)
                // The chunk's sha256 (read from the page cache; sent from the same file below).
                let digest = StreamingDigest(.sha256)
                var done: UInt64 = 0
                while done < length {
                    let want = Int(min(UInt64(buffer.count), length - done))
                    let n = try buffer.withUnsafeMutableBytes { try FileIO.pread(fd, UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), offset: offset + done, path) }
                    guard n > 0 else { throw UploadError(kind: .rejected, status: nil, code: "batch_file_short", message: "\(path) is shorter than journaled") }
                    buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    done += UInt64(n)
                }
                let rate = currentRate()
                runtime.setBandwidth(rate)
                let base = offset
                let sha = digest.finalize()
                let attempt = Result(catching: { () throws(UploadError) -> (offset: UInt64, committed: Bool) in
                    try client.patch(url, fd: fd, offset: base, length: length, sha256: sha, maxSendSpeed: rate) { [runtime] p in
                        runtime.progress(sent: base + p.uploaded)
                    }
                })
                switch attempt {
                case .success(let r):
                    offset = r.offset
                    committed = r.committed
                    try journal.setOffset(batch: batch.id, offset: offset)
                    CrashPoints.hit("upload.mid-upload")
                    runtime.progress(sent: offset)
                    if offset == batch.size && !committed {
                        // All bytes are there but the commit did not happen (e.g. 503 earlier): ask again.
                        remote = try client.head(url)
                        committed = remote.state == .committed
                    }
                case .failure(let e):
                    // 400/415 on a PATCH: its headers were damaged on the way (ours are well-formed).
                    let damaged = e.kind == .corrupted || (e.kind == .rejected && (e.status == 400 || e.status == 415))
                    guard (damaged || e.kind == .offsetMismatch) && resends < 8 else {
                        if e.kind == .rejected && e.status != 422 && e.status != 413 { throw UploadError(kind: .transient, status: e.status, code: e.code, message: e.message) }
                        throw e
                    }
                    resends += 1
                    logger.warning(
                        damaged ? "a chunk was damaged on the way (checksum mismatch at the core); re-sending it" : "offset differs from the core's; asking it",
                        metadata: ["batch": "\(batch.id)", "offset": "\(offset)"])
                    try journal.count(damaged ? "chunks_resent_corrupt" : "offset_resyncs")
                    remote = try client.head(url)
                    offset = remote.offset
                    committed = remote.state == .committed
                }
            }
        }

        let receipt = try client.receipt(url)
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
    }

    /// The core refused the batch's content: never re-send it as is. Objects whose spool file no
    /// longer matches its sha256 are quarantined; intact ones go back to pending (a 422 can follow
    /// bytes damaged on the way), and one refused `Journal.maxRejections` times is quarantined.
    /// A 400/413 that persisted through the creation retries quarantines the whole batch.
    private func reject(_ batch: SpoolBatch, _ e: UploadError) {
        let journal = spool.journal
        let now = Timestamp.format(Date())
        do {
            try journal.count("batches_rejected")
            let objects = try journal.objects(inBatch: batch.id)
            let released: (file: String?, quarantined: Int)
            let reason = "refused by the core: \(e)"
            if e.code == "unknown_reference" {
                // The core no longer holds what the have-check said: rebuild with the bytes.
                released = try journal.releaseBatch(batch.id, quarantine: [], reason: reason, at: now)
            } else if e.status == 422 {
                let corrupt = objects.filter { !builder.verify($0) }.map(\.id)
                released = try journal.releaseBatch(batch.id, quarantine: corrupt, countRejection: true, reason: reason, at: now)
            } else {
                released = try journal.releaseBatch(batch.id, quarantine: objects.map(\.id), reason: reason, at: now)
            }
            if let f = released.file { unlink(spool.directory + "/" + f) }
            logger.error("the core refused a batch", metadata: [
                "batch": "\(batch.id)", "error": "\(e)", "objects": "\(objects.count)", "quarantined": "\(released.quarantined)",
                "requeued": "\(objects.count - released.quarantined)",
            ])
        } catch {
            logger.error("cannot record a refused batch", metadata: ["batch": "\(batch.id)", "error": "\(error)"])
        }
        batcherWake.signal()
    }
}
