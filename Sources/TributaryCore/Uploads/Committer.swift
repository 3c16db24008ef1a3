#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import TributaryProtocol
import TributaryDelivery
import TributaryFiles

/// Validates a fully staged upload and commits it to the lake and the catalog.
///
/// Order of a commit, and what a kill -9 between two steps leaves (all repaired by retrying the
/// commit, which the core does at start-up for every complete staged upload):
/// 1. Stream the staged bytes once: hash them, decompress, parse the segment, write each object to
///    a scratch file while hashing it (for a lake without a scratch directory — S3 — small members
///    are kept in memory instead, within `SmallObjectMemory`'s budget). Any mismatch → `TributaryError` (422), nothing was placed.
///    Crash: scratch files only; the next attempt deletes them.
/// 2. Ask the catalog which contents the site already holds: those are not placed (`duplicate`).
/// 3. Place the new objects in the lake (fsync files, rename, fsync directories).
///    Crash: lake files no catalog row names; the retry places the same keys with the same bytes.
/// 4. One catalog transaction: arrivals, new objects, the upload and its receipt. ← commit point
/// 5. Write the arrival manifests, mark the upload manifested. Crash: repaired at start-up.
/// 6. Remove the staging directory.
public struct Committer: Sendable {
    public var lake: any LakeStore
    public var catalog: any Catalog
    public var staging: StagingArea
    public var template: PartitionTemplate
    /// Upper bound on the decoded bytes of one upload (decompression-bomb guard).
    public var maxDecodedBytes: UInt64
    public var failPoints: FailPoints
    /// When a staged upload is quarantined instead of committed again.
    public var attemptPolicy: CommitAttempts.Policy
    public var logger: Logger
    /// Where commit durations and counts go (nil: nowhere).
    public var metrics: NodeMetrics?
    /// Signalled after each commit (the forwarder's wake-up: it ships the upload at once).
    public var onCommit: Wakeup?
    /// The zstd dictionaries segments name, kept in the lake.
    public let dictionaries: LakeDictionaries
    /// Where small segment members are held instead of scratch files, for a lake without a
    /// scratch directory (S3).
    public var smallObjectMemory: SmallObjectMemory = .shared

    public init(
        lake: any LakeStore, catalog: any Catalog, staging: StagingArea, template: PartitionTemplate,
        maxDecodedBytes: UInt64, failPoints: FailPoints = .none, attemptPolicy: CommitAttempts.Policy = .init(), logger: Logger,
        metrics: NodeMetrics? = nil
    ) {
        self.attemptPolicy = attemptPolicy
        self.lake = lake
        self.catalog = catalog
        self.staging = staging
        self.template = template
        self.maxDecodedBytes = maxDecodedBytes
        self.failPoints = failPoints
        self.logger = logger
        self.metrics = metrics
        self.dictionaries = LakeDictionaries(lake: lake)
    }

    /// Commits a staged upload. Throws `TributaryError` for a validation failure (the caller
    /// discards the upload) and any other error for a transient failure (the upload stays staged).
    ///
    /// `stagedSHA256`: the sha256 of the staged bytes when the node hashed them as they arrived
    /// (`UploadRegistry.stagedSHA256`); nil makes the commit hash them while it reads them.
    public func commit(_ info: UploadInfo, stagedSHA256: String? = nil, now: Date = Date()) async throws -> CommitOutcome {
        if let existing = try await catalog.receipt(uploadID: info.id) {
            let receipt = try JSON.decode(CommitReceipt.self, existing.json)
            try await removeUnnamedPlacements(info.id, receipt: receipt)
            try await finish(info.id)
            return CommitOutcome(receipt: receipt, receiptJSON: existing.json, orphanedKeys: [])
        }
        let scratch = lake.scratchDirectory ?? staging.workDirectory(info.id)
        try FileIO.makeDirectories(scratch)
        let prefix = scratch + "/" + info.id + "-"
        let dataPath = staging.dataPath(info.id)
        let limit = maxDecodedBytes
        cleanScratch(scratch, id: info.id)
        // Whatever happens, no scratch file outlives this attempt (placed ones were renamed away).
        defer { cleanScratch(scratch, id: info.id) }
        var dictionary: ZstdDictionary?
        if let id = info.dictionary {
            // Checked at creation; a lake that lost it since cannot decode this segment.
            guard let d = try await dictionaries.get(id) else {
                throw TributaryError(.corruptSegment, "the segment's zstd dictionary \(id) is no longer in the lake")
            }
            dictionary = d
        }
        // Small members go to memory, not scratch files, when the lake takes bytes (S3).
        let memory = lake.scratchDirectory == nil ? smallObjectMemory : nil
        let extracted = try await FileIO.offload(on: BlockingPools.commits) { [dictionary] in
            try Self.extract(
                info, dataPath: dataPath, scratchPrefix: prefix, limit: limit, dictionary: dictionary, stagedSHA256: stagedSHA256, memory: memory)
        }
        defer { memory?.release(extracted.heldBytes) }

        let committedAt = Timestamp.format(now)
        // A relay states when the original core received the objects; they keep that time.
        let receivedAt = info.receivedAt ?? committedAt
        let held = try await catalog.held(site: info.owner, hashes: extracted.entries.map(\.sha256))
        var arrivals: [ArrivalRecord] = []
        var toPlace: [LakeFile] = []
        var placedSHA = Set<String>()
        for (i, e) in extracted.entries.enumerated() {
            let captured = try Self.partitionTime(capturedAt: e.capturedAt, receivedAt: receivedAt)
            var key = template.key(stream: e.stream, site: info.owner, capturedAtUTC: captured, name: e.name, sha256: e.sha256)
            if let problem = lake.keyProblem(key) {
                throw TributaryError(.unplaceable, "'\(Names.printable(e.name))' cannot be stored: \(problem)")
            }
            var status = CommitReceipt.Status.stored
            if held.contains(e.sha256), let stored = try await catalog.object(site: info.owner, sha256: e.sha256) {
                // A ref's size is only the sender's word: it must match what is held.
                guard stored.size == e.size else {
                    throw TributaryError(
                        .manifestMismatch, "'\(Names.printable(e.name))' declares \(e.size) bytes, but the content it names has \(stored.size)")
                }
                key = stored.key
                status = .duplicate
            } else if e.ref {
                throw TributaryError(
                    .unknownReference, "'\(Names.printable(e.name))' is sent as a reference to content \(e.sha256) the site does not hold")
            } else if let path = extracted.files[i], placedSHA.insert(e.sha256).inserted {
                toPlace.append(LakeFile(scratchPath: path, key: key, sha256: e.sha256, size: e.size, uploadID: info.kind == .object ? info.id : nil))
            } else if let bytes = extracted.held[i], placedSHA.insert(e.sha256).inserted {
                toPlace.append(LakeFile(scratchPath: "", key: key, sha256: e.sha256, size: e.size, bytes: bytes))
            }
            arrivals.append(
                ArrivalRecord(
                    uploadID: info.id, seq: i, site: info.owner, stream: e.stream, name: e.name, sha256: e.sha256, size: e.size,
                    capturedAt: captured, receivedAt: receivedAt, key: key, status: status, relay: info.onBehalfOf.map { _ in info.site },
                    origin: info.originCore, path: info.corePath))
        }

        if plannedKey(info, now: now) != nil {
            // Parts of the object shipped while it was received are aborted unless placed now.
            lake.stagedUploadEnded(info.id, placing: Set(toPlace.map(\.key)), reason: toPlace.isEmpty ? "duplicate" : "key changed")
        }

        await failPoints.hit("commit.before-lake")
        // Journal the keys before placing them: whatever of them the final receipt does not name
        // (this commit lost a dedup race, now or in an attempt a crash cut short) is removed
        // before the staging directory goes, so the lake never keeps a second copy of content.
        let staging = self.staging
        let keys = toPlace.map(\.key)
        try await FileIO.offload { try staging.recordPlacing(info.id, keys) }
        try await lake.place(toPlace)
        await failPoints.hit("commit.after-lake")

        let record = CommitRecord(
            uploadID: info.id, site: info.owner, kind: info.kind, committedAt: committedAt, length: info.length, arrivals: arrivals,
            relay: info.onBehalfOf.map { _ in info.site }, origin: info.originCore, path: info.corePath ?? [])
        let outcome = try await catalog.commit(record)
        onCommit?.signal()
        await failPoints.hit("commit.after-catalog")
        // The commit point has passed: from here on the upload is committed whatever fails.
        try await removeUnnamedPlacements(info.id, receipt: outcome.receipt)
        do {
            try await writeManifests(uploadID: info.id, committedAt: outcome.receipt.committedAt, arrivals: try arrivalsFor(outcome, record))
        } catch {
            // Derived data: the manifest repair (at start-up and every minute) writes it later.
            logger.warning("arrival manifests not written yet; repaired later", metadata: ["upload.id": "\(info.id)", "error": "\(error)"])
        }
        try await finish(info.id)
        logger.info(
            "upload committed",
            metadata: [
                "upload.id": "\(info.id)", "site.id": "\(info.site)", "upload.kind": "\(info.kind.rawValue)",
                "objects": "\(arrivals.count)", "stored": "\(outcome.receipt.objects.filter { $0.status == .stored }.count)",
            ])
        return outcome
    }

    /// Removes lake keys this upload's attempts placed that its receipt does not name (another
    /// upload of the site stored the same content first, under another key).
    func removeUnnamedPlacements(_ id: String, receipt: CommitReceipt) async throws {
        let staging = self.staging
        let journaled = try await FileIO.offload { staging.placedKeys(id) }
        let named = Set(receipt.objects.map(\.key))
        for key in journaled.subtracting(named).sorted() {
            // The receipt names the content under another key: this copy is a duplicate.
            try await lake.remove(key: key)
            logger.info("removed the copy of content another upload stored first", metadata: ["upload.id": "\(id)", "lake.key": "\(key)"])
        }
    }

    /// Commits a staged upload the registry has moved to the commit state and records the
    /// outcome there: committed; rejected (validation failure — the staged bytes are deleted);
    /// quarantined (`CommitAttempts` says it crashed the node or kept failing — the staged bytes
    /// are moved aside); or failed (transient — the upload stays staged for a retry). Used by the
    /// final PATCH and by start-up recovery alike. Rethrows the error.
    public func commitStaged(_ info: UploadInfo, registry: UploadRegistry) async throws {
        let staging = self.staging
        var attempts = CommitAttempts()
        // A site revoked while its upload was in flight (or staged before a restart): nothing of
        // the upload is committed, and it is discarded.
        let active: Bool
        do {
            active = try await catalog.hasWorkingCredential(site: info.site, at: Date())
        } catch {
            await registry.commitFinished(info.id, .failed)
            throw error
        }
        guard active else {
            try? await FileIO.offload { try staging.remove(info.id) }
            await registry.commitFinished(info.id, .rejected)
            logger.notice("upload of a revoked site discarded", metadata: ["upload.id": "\(info.id)", "site.id": "\(info.site)"])
            throw DomainError(.unauthorized, "the site's credentials were revoked")
        }
        do {
            attempts = try await FileIO.offload { staging.attempts(info.id) }
            if let reason = attempts.quarantineReason(attemptPolicy) {
                try await quarantine(info, reason: reason, attempts: attempts, registry: registry)
            }
            attempts.begin()
            let marked = attempts
            try await FileIO.offload { try staging.writeAttempts(info.id, marked) }
        } catch {
            if (error as? TributaryError)?.code != .quarantined { await registry.commitFinished(info.id, .failed) }
            throw error
        }
        do {
            let started = ContinuousClock.now
            _ = try await commit(info, stagedSHA256: await registry.stagedSHA256(info.id, length: info.length))
            await registry.commitFinished(info.id, .committed)
            let took = ContinuousClock.now - started
            metrics?.committed(
                kind: info.kind.rawValue, commitSeconds: Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18,
                uploadSeconds: Date().timeIntervalSince(info.createdAt))
        } catch where CoreError.isValidationFailure(error) {
            let staging = self.staging
            try? await FileIO.offload { try staging.remove(info.id) }
            await registry.commitFinished(info.id, .rejected)
            logger.warning("upload rejected", metadata: ["upload.id": "\(info.id)", "site.id": "\(info.site)", "error": "\(error)"])
            await countRejection(site: info.site, error)
            throw error
        } catch {
            // Counted against the upload only if the backends answer: an outage is not its fault.
            let counted = await backendsAnswer()
            attempts.failed("\(error)", counted: counted)
            let failedAttempts = attempts
            do {
                try await FileIO.offload { try staging.writeAttempts(info.id, failedAttempts) }
                if let reason = attempts.quarantineReason(attemptPolicy) {
                    try await quarantine(info, reason: reason, attempts: attempts, registry: registry)
                }
            } catch let e as TributaryError where e.code == .quarantined {
                throw e
            } catch {
                logger.error("could not record a failed commit attempt", metadata: ["upload.id": "\(info.id)", "error": "\(error)"])
            }
            await registry.commitFinished(info.id, .failed)
            logger.error("commit failed, upload kept for retry", metadata: ["upload.id": "\(info.id)", "error": "\(error)"])
            throw error
        }
    }

    /// Whether the lake and the catalog both answer now.
    func backendsAnswer() async -> Bool {
        do {
            try await catalog.check()
            try await lake.check()
            return true
        } catch {
            return false
        }
    }

    /// Sets the upload aside (staging moved to quarantine/ with its reason), counts it as a
    /// rejection of its site, and throws the final `.quarantined` error (422).
    func quarantine(_ info: UploadInfo, reason: String, attempts: CommitAttempts, registry: UploadRegistry) async throws -> Never {
        let record = QuarantineRecord(uploadID: info.id, site: info.site, reason: reason, quarantinedAt: Timestamp.format(Date()), attempts: attempts)
        let staging = self.staging
        try await FileIO.offload { try staging.quarantine(info.id, record) }
        await registry.quarantine(record)
        let error = TributaryError(.quarantined, "upload \(info.id) was set aside: \(reason)")
        logger.error("upload quarantined", metadata: ["upload.id": "\(info.id)", "site.id": "\(info.site)", "reason": "\(reason)"])
        await countRejection(site: info.site, error)
        throw error
    }

    /// Counts a refused upload for the fleet view, by error code. Best effort: the refusal
    /// stands whether or not the catalog takes the count.
    func countRejection(site: String, _ error: any Error) async {
        let reason = (error as? TributaryError)?.code.rawValue ?? (error as? CoreError)?.code ?? "invalid"
        metrics?.rejected(reason: reason)
        do {
            try await catalog.recordRejection(site: site, reason: reason, at: Timestamp.format(Date()))
        } catch {
            logger.warning("could not count a rejection", metadata: ["site.id": "\(site)", "error": "\(error)"])
        }
    }

    private func arrivalsFor(_ outcome: CommitOutcome, _ record: CommitRecord) throws -> [ArrivalRecord] {
        zip(record.arrivals, outcome.receipt.objects).map { a, o in
            var a = a
            a.status = o.status
            a.key = o.key
            return a
        }
    }

    /// Writes one JSON Lines file per partition touched by the upload, then marks it manifested.
    public func writeManifests(uploadID: String, committedAt: String, arrivals: [ArrivalRecord]) async throws {
        var byPartition: [String: [ArrivalRecord]] = [:]
        for a in arrivals {
            let p = template.partition(stream: a.stream, site: a.site, capturedAtUTC: a.capturedAt)
            byPartition[p, default: []].append(a)
        }
        let stamp = String(decoding: committedAt.utf8.filter { $0 >= 0x30 && $0 <= 0x39 }, as: UTF8.self)
        for (partition, list) in byPartition.sorted(by: { $0.key < $1.key }) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(list.count * 320)
            for a in list { a.appendJSONLine(to: &bytes) }
            try await lake.writeMetadata(key: "_tributary/arrivals/\(partition)/\(stamp)-\(uploadID).jsonl", bytes: bytes)
        }
        try await catalog.markManifested(uploadID: uploadID)
    }

    /// Repairs what a crash may have left: manifests of committed uploads. Called at start-up.
    public func repairManifests() async throws {
        for u in try await catalog.unmanifested() {
            try await writeManifests(uploadID: u.uploadID, committedAt: u.committedAt, arrivals: u.arrivals)
        }
    }

    private func finish(_ id: String) async throws {
        let staging = self.staging
        try await FileIO.offload { try staging.remove(id) }
    }

    private func cleanScratch(_ scratch: String, id: String) {
        for name in FileIO.list(scratch) where name.hasPrefix(id + "-") {
            unlink(scratch + "/" + name)
        }
    }

    struct Extracted: Sendable {
        var entries: [ManifestEntry]
        /// Scratch file of each non-ref entry, by manifest index.
        var files: [Int: String]
        /// Bytes of each non-ref entry held in memory instead (by manifest index).
        var held: [Int: [UInt8]] = [:]
        /// What `held` reserved of the `SmallObjectMemory`; released by the caller.
        var heldBytes: Int = 0
    }

    /// Step 1: one streaming pass over the staged bytes — none for an identity object whose
    /// sha256 was computed while it was received (`stagedSHA256`).
    static func extract(
        _ info: UploadInfo, dataPath: String, scratchPrefix: String, limit: UInt64, dictionary: ZstdDictionary? = nil,
        stagedSHA256: String? = nil, memory: SmallObjectMemory? = nil
    ) throws -> Extracted {
        let fd = try FileIO.open(dataPath, O_RDONLY)
        defer { close(fd) }
        // The staged file must still be what was hashed: exactly `length` bytes.
        let known = try stagedSHA256.flatMap { try FileIO.size(dataPath) == info.length ? $0 : nil }
        let uploadDigest = StreamingDigest()
        let hashing = known == nil
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        func readChunks(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
            var total: UInt64 = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; throw FileIO.error("read", dataPath) }
                if n == 0 { break }
                total += UInt64(n)
                try buffer.withUnsafeBytes { raw in
                    let chunk = UnsafeRawBufferPointer(rebasing: raw.prefix(n))
                    if hashing { uploadDigest.update(chunk) }
                    try body(chunk)
                }
            }
            guard total == info.length else {
                throw TributaryError(.io, "staged data of upload \(info.id) has \(total) bytes, expected \(info.length)")
            }
        }

        switch info.kind {
        case .segment:
            var reader = SegmentReader(
                delegate: SegmentExtractor(prefix: scratchPrefix, limit: limit, memory: memory), limits: ParserLimits(maxDecodedBytes: limit),
                dictionary: dictionary)
            defer { reader.delegate.closeCurrent() }
            do {
                do {
                    try readChunks { try reader.feed($0) }
                    try reader.finish()
                } catch let e as TributaryError where [.invalidName, .invalidStream, .invalidTimestamp].contains(e.code) {
                    // A bad entry makes the segment unprocessable as a whole (422), unlike the same
                    // problem in creation metadata (400).
                    throw TributaryError(.corruptSegment, "segment manifest: \(e.message)")
                }
                let h = known ?? uploadDigest.finalizeHex()
                if let declared = info.sha256, declared != h {
                    throw TributaryError(.checksumMismatch, "segment has sha256 \(h), metadata declares \(declared)")
                }
                guard let manifest = reader.manifest else { throw TributaryError(.corruptSegment, "segment has no manifest") }
                return Extracted(entries: manifest.objects, files: reader.delegate.files, held: reader.delegate.held, heldBytes: reader.delegate.reserved)
            } catch {
                memory?.release(reader.delegate.reserved)
                throw error
            }
        case .object:
            let path = scratchPrefix + "0"
            guard let stream = info.stream, let name = info.name else {
                throw TributaryError(.invalidMetadata, "upload \(info.id) is an object without a stream and name")
            }
            if info.encoding == .identity {
                // One pass over the bytes: the upload is the object, hashed once while read, and
                // the staged file becomes the scratch file by a hard link (same inode, no copy).
                // The staged name stays until the commit is done, so a crash at any step leaves the
                // upload whole for the retry.
                var size: UInt64 = 0
                let h: String
                if let known {
                    guard info.length <= limit else { throw TributaryError(.tooLarge, "object is larger than \(limit) bytes") }
                    size = info.length
                    h = known
                } else {
                    try readChunks { bytes in
                        let (next, overflow) = size.addingReportingOverflow(UInt64(bytes.count))
                        size = next
                        guard !overflow, size <= limit else { throw TributaryError(.tooLarge, "object is larger than \(limit) bytes") }
                    }
                    h = uploadDigest.finalizeHex()
                }
                if let declared = info.sha256, declared != h {
                    throw TributaryError(.checksumMismatch, "object has sha256 \(h), metadata declares \(declared)")
                }
                unlink(path)
                if link(dataPath, path) != 0 {
                    guard errno == EXDEV || errno == EPERM || errno == EMLINK else { throw FileIO.error("link", path) }
                    try Self.copy(dataPath, to: path)  // scratch on another filesystem
                }
                let entry = ManifestEntry(stream: stream, name: name, size: size, sha256: h, capturedAt: info.capturedAt)
                return Extracted(entries: [entry], files: [0: path])
            }
            var out = ScratchFile(fd: try FileIO.open(path, O_WRONLY | O_CREAT | O_TRUNC), name: path)
            defer { close(out.fd) }
            let objectDigest = StreamingDigest()
            var size: UInt64 = 0
            func emit(_ bytes: UnsafeRawBufferPointer) throws {
                let (next, overflow) = size.addingReportingOverflow(UInt64(bytes.count))
                size = next
                guard !overflow, size <= limit else { throw TributaryError(.tooLarge, "object decodes to more than \(limit) bytes") }
                objectDigest.update(bytes)
                try out.write(bytes)
            }
            if info.encoding == .zstd {
                let z = ZstdDecompressor()
                try readChunks { try z.decompress($0, sink: emit) }
                try z.finish()
            } else {
                try readChunks(emit)
            }
            let h = objectDigest.finalizeHex()
            if let declared = info.sha256, declared != h {
                throw TributaryError(.checksumMismatch, "object has sha256 \(h), metadata declares \(declared)")
            }
            let entry = ManifestEntry(stream: stream, name: name, size: size, sha256: h, capturedAt: info.capturedAt)
            return Extracted(entries: [entry], files: [0: path])
        }
    }
}

extension Committer: StagingObserver {
    /// The lake key of a staged upload's object when it is known before the commit: an identity
    /// object (the staged bytes are the object) whose sha256 was declared at creation. Without
    /// captured-at or a relay's receive time, the key's date is the commit's: `now` is a guess
    /// the commit checks (`stagedUploadEnded`). Segments are never pipelined: their members are
    /// small and only known once the segment is parsed at commit.
    func plannedKey(_ info: UploadInfo, now: Date) -> String? {
        guard info.kind == .object, info.encoding == .identity, let sha256 = info.sha256, let stream = info.stream, let name = info.name,
            let captured = try? Self.partitionTime(capturedAt: info.capturedAt, receivedAt: info.receivedAt ?? Timestamp.format(now))
        else { return nil }
        let key = template.key(stream: stream, site: info.owner, capturedAtUTC: captured, name: name, sha256: sha256)
        return lake.keyProblem(key) == nil ? key : nil
    }

    /// The time an object is partitioned by: its captured-at (normalized), else when it was
    /// received (`receivedAt`: a relay's original receive time, or the commit's). One rule for the
    /// commit and for `plannedKey`.
    static func partitionTime(capturedAt: String?, receivedAt: String) throws -> String {
        try capturedAt.map(Timestamp.normalized) ?? receivedAt
    }

    public func durable(_ info: UploadInfo, bytes: UInt64) {
        guard let key = plannedKey(info, now: Date()) else { return }
        lake.stagedBytesDurable(
            StagedObject(uploadID: info.id, key: key, sha256: info.sha256 ?? "", size: info.length, durableBytes: bytes, dataPath: staging.dataPath(info.id)))
    }

    public func ended(_ info: UploadInfo, reason: String) {
        guard plannedKey(info, now: Date()) != nil else { return }
        lake.stagedUploadEnded(info.id, placing: [], reason: reason)
    }
}

extension Committer {
    /// Copies `source` to a new file at `dest` (no fsync: placement makes scratch files durable).
    static func copy(_ source: String, to dest: String) throws {
        let from = try FileIO.open(source, O_RDONLY)
        defer { close(from) }
        var out = ScratchFile(fd: try FileIO.open(dest, O_WRONLY | O_CREAT | O_TRUNC), name: dest)
        defer { close(out.fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw FileIO.error("read", source) }
            if n == 0 { return }
            try buffer.withUnsafeBytes { try out.write(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
        }
    }
}

struct ScratchFile {
    var fd: Int32
    var name: String
    init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws { try FileIO.writeAll(fd, bytes, name) }
}

/// Writes each verified member of a segment to its own scratch file, or keeps a small one in
/// memory when given a `SmallObjectMemory` with room for it.
struct SegmentExtractor: SegmentDelegate {
    enum Sink {
        case file(ScratchFile)
        /// The bytes so far and the size reserved for them (the member's declared size).
        case memory([UInt8], reserved: UInt64)
    }

    let prefix: String
    let limit: UInt64
    let memory: SmallObjectMemory?
    var files: [Int: String] = [:]
    var held: [Int: [UInt8]] = [:]
    /// Bytes reserved of `memory` for `held` and the current member (the caller releases them).
    var reserved = 0
    var indexByMember: [String: Int] = [:]
    var current: (index: Int, sink: Sink)?
    var decoded: UInt64 = 0

    init(prefix: String, limit: UInt64, memory: SmallObjectMemory? = nil) {
        self.prefix = prefix
        self.limit = limit
        self.memory = memory
    }

    mutating func segmentManifest(_ manifest: SegmentManifest) throws {
        var total: UInt64 = 0
        for e in manifest.objects where !e.ref {
            let (sum, overflow) = total.addingReportingOverflow(e.size)
            guard !overflow, sum <= limit else {
                throw TributaryError(.tooLarge, "segment declares more than \(limit) bytes of objects")
            }
            total = sum
        }
        for (i, e) in manifest.objects.enumerated() { indexByMember[e.memberPath] = i }
    }

    mutating func segmentObjectBegan(_ entry: ManifestEntry) throws {
        guard let i = indexByMember[entry.memberPath] else {
            throw TributaryError(.corruptSegment, "member '\(Names.printable(entry.memberPath))' is not in the manifest")
        }
        closeCurrent()
        if let memory, memory.reserve(entry.size) {
            reserved += Int(entry.size)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(Int(entry.size))
            current = (i, .memory(bytes, reserved: entry.size))
            return
        }
        let path = prefix + String(i)
        current = (i, .file(ScratchFile(fd: try FileIO.open(path, O_WRONLY | O_CREAT | O_TRUNC), name: path)))
    }

    mutating func segmentObjectData(_ bytes: UnsafeRawBufferPointer) throws {
        guard let c = current else { throw TributaryError(.corruptSegment, "member data outside a member") }
        switch c.sink {
        case .file(var file):
            try file.write(bytes)
        case .memory(var held, let size):
            // The reader checks each member against its declared size; memory never holds more.
            guard UInt64(held.count) + UInt64(bytes.count) <= size else {
                throw TributaryError(.corruptSegment, "member '\(c.index)' has more bytes than its manifest entry declares")
            }
            current = nil  // keep `held` uniquely referenced while it grows
            held += bytes
            current = (c.index, .memory(held, reserved: size))
        }
    }

    mutating func segmentObjectEnded(_ entry: ManifestEntry) throws {
        guard let c = current else { throw TributaryError(.corruptSegment, "a member ended that never began") }
        current = nil
        switch c.sink {
        case .file(let file):
            close(file.fd)
            files[c.index] = file.name
        case .memory(let bytes, _):
            held[c.index] = bytes
        }
    }

    mutating func closeCurrent() {
        if let c = current, case .file(let file) = c.sink { close(file.fd) }
        current = nil
    }
}
