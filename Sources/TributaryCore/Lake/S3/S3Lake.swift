#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
import TributaryCurl
import TributaryProtocol
import TributaryFiles

/// The lake in an S3-compatible bucket (`s3://BUCKET[/PREFIX]`): same keys, manifests and
/// semantics as `FileSystemLake` (docs/LAKE.md, "S3 lake").
///
/// Placement of one file:
/// - Below `multipartThresholdBytes`: one PUT streamed from the scratch file, with
///   `x-amz-checksum-sha256` (the store recomputes it and refuses a mismatch with 400 BadDigest)
///   and `If-None-Match: *`. A 412 means the key exists; keys embed the sha256, so it holds the
///   same bytes and the placement is done. A store that answers 501 to the condition is switched to
///   `head` mode: HEAD first, PUT only if the key is missing (a racing PUT writes the same bytes).
/// - At or above it: a multipart upload (`S3Multipart`) whose upload id and finished parts are
///   recorded in a fsync'd state file under `<data-dir>/s3-multipart/`, so a restarted core resumes
///   it; each part carries its own `x-amz-checksum-sha256`.
/// - A large identity object still being received has its durable parts shipped ahead of the
///   commit (`S3PartShipper`, decided by `PartPipeline`) into the same state file: its placement
///   then waits for the parts in flight (`takeOver`) and sends only what is left.
/// - The core's own verification is the committer's sha256 of the scratch file; ETags are only
///   echoed back to complete a multipart upload, never trusted as checksums.
/// A PUT answered 200 is durable by the store's contract; `place` returns after all are.
public final class S3Lake: LakeStore {
    let client: S3Client
    let multipart: S3Multipart
    let shipper: S3PartShipper
    let logger: Logger
    /// Set when the store turned out not to support `If-None-Match: *`.
    let headMode: Atomic<Bool>

    /// `afterPart`: test hook, see `S3Multipart.afterPart`.
    init(
        location: S3Location, settings: S3Settings, stateDirectory: String, logger: Logger,
        afterPart: (@Sendable (Int) throws -> Void)?, metrics: NodeMetrics? = nil
    ) throws {
        client = try S3Client(settings: settings, location: location)
        var m = try S3Multipart(client: client, stateDirectory: stateDirectory, logger: logger)
        m.afterPart = afterPart
        m.metrics = metrics
        multipart = m
        shipper = S3PartShipper(multipart: m, limit: Self.pipelineLimit(settings), logger: logger)
        self.logger = logger
        headMode = Atomic(settings.conditionalCreate == "head")
    }

    public convenience init(location: S3Location, settings: S3Settings, stateDirectory: String, logger: Logger, metrics: NodeMetrics? = nil) throws {
        try self.init(location: location, settings: settings, stateDirectory: stateDirectory, logger: logger, afterPart: nil, metrics: metrics)
    }

    /// Parts shipped ahead of commits at once, over the whole process: half of `s3_parallelism`
    /// (at least 1), so that placements keep the other half.
    static func pipelineLimit(_ settings: S3Settings) -> Int { max(1, settings.parallelism / 2) }

    public func stagedBytesDurable(_ upload: StagedObject) {
        // Only an object that will go multipart gains anything; smaller ones are one PUT at commit.
        guard upload.size >= client.settings.multipartThresholdBytes else { return }
        shipper.received(
            upload: upload.uploadID, objectKey: client.location.objectKey(upload.key), sha256: upload.sha256, size: upload.size,
            durable: upload.durableBytes, dataPath: upload.dataPath)
    }

    public func stagedUploadEnded(_ uploadID: String, placing keys: Set<String>, reason: String) {
        shipper.ended(upload: uploadID, keeping: Set(keys.map { client.location.objectKey($0) }), reason: reason)
    }

    public var scratchDirectory: String? { nil }

    public var location: S3Location { client.location }

    public func place(_ files: [LakeFile]) async throws {
        let width = max(1, client.settings.parallelism)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            while next < files.count && next < width {
                let f = files[next]
                group.addTask { try await self.placeOne(f) }
                next += 1
            }
            while try await group.next() != nil {
                if next < files.count {
                    let f = files[next]
                    group.addTask { try await self.placeOne(f) }
                    next += 1
                }
            }
        }
    }

    func placeOne(_ file: LakeFile) async throws {
        let key = client.location.objectKey(file.key)
        if file.bytes == nil && file.size >= client.settings.multipartThresholdBytes {
            // Parts shipped while the upload was received are in the state file once none is in flight.
            await shipper.takeOver(key)
            try await multipart.upload(file, objectKey: key, conditional: !headMode.load(ordering: .relaxed))
            return
        }
        if headMode.load(ordering: .relaxed), try await exists(key) { return }
        // A small object the committer kept in memory is sent from there: no scratch file.
        var fd: Int32 = -1
        defer { if fd >= 0 { close(fd) } }
        let body: HTTPRequest.Body
        if let bytes = file.bytes {
            body = .bytes(bytes)
        } else {
            fd = try FileIO.open(file.scratchPath, O_RDONLY)
            body = .file(fd: fd, offset: 0, length: file.size)
        }
        var headers = [("x-amz-checksum-sha256", try Self.base64SHA256(hex: file.sha256)), ("Content-Type", "application/octet-stream")]
        if !headMode.load(ordering: .relaxed) { headers.append(("If-None-Match", "*")) }
        let r = try await client.send("PUT", key, headers: headers, body: body)
        switch r.status {
        case 200...299, 412:
            return
        case 501 where !headMode.load(ordering: .relaxed):
            logger.notice("the S3 store does not support If-None-Match: *; placing with HEAD before PUT", metadata: ["lake": "\(location)"])
            headMode.store(true, ordering: .relaxed)
            try await placeOne(file)
        case 409:
            // AWS: a conditional write raced another one on the same key; the other wins (same bytes).
            if try await exists(key) { return }
            throw S3Client.failure(r, "PUT \(key)")
        default:
            throw Self.placementFailure(r, "PUT \(key)")
        }
    }

    /// A PUT the store refuses for the request itself (400 other than a bad digest, 411, 413, 414:
    /// a key or object it will never take) cannot succeed on retry: `.unplaceable` (422). Anything
    /// else — auth, throttling, 5xx — is the store's trouble: `.io` (503, retried).
    static func placementFailure(_ r: HTTPResponse, _ what: String) -> TributaryError {
        var e = S3Client.failure(r, what)
        let code = S3Client.xmlValue(r.body, "Code") ?? ""
        if [400, 411, 413, 414].contains(r.status) && code != "BadDigest" && code != "RequestTimeout" {
            e.code = .unplaceable
        }
        return e
    }

    func exists(_ objectKey: String) async throws -> Bool {
        let r = try await client.send("HEAD", objectKey)
        switch r.status {
        case 200: return true
        case 404: return false
        default: throw S3Client.failure(r, "HEAD \(objectKey)")
        }
    }

    public func writeMetadata(key: String, bytes: [UInt8]) async throws {
        let k = client.location.objectKey(key)
        let r = try await client.send(
            "PUT", k, headers: [("x-amz-checksum-sha256", Self.base64(StreamingDigest.sha256(bytes))), ("Content-Type", "application/x-ndjson")],
            body: .bytes(bytes))
        guard (200...299).contains(r.status) else { throw S3Client.failure(r, "PUT \(k)") }
    }

    public func readMetadata(key: String, limit: Int) async throws -> [UInt8]? {
        try await get(key: key, limit: limit)
    }

    public func remove(key: String) async throws {
        let k = client.location.objectKey(key)
        let r = try await client.send("DELETE", k)
        guard (200...299).contains(r.status) || r.status == 404 else { throw S3Client.failure(r, "DELETE \(k)") }
    }

    /// A ranged GET (`Range: bytes=offset-(offset+maxBytes-1)`); 416 past the end is empty.
    public func read(key: String, offset: UInt64, maxBytes: Int) async throws -> [UInt8]? {
        guard maxBytes > 0 else { return [] }
        let k = client.location.objectKey(key)
        let (last, overflow) = offset.addingReportingOverflow(UInt64(maxBytes) - 1)
        guard !overflow else { return [] }
        let r = try await client.send("GET", k, headers: [("Range", "bytes=\(offset)-\(last)")], responseLimit: maxBytes)
        switch r.status {
        case 404: return nil
        case 416: return []
        case 206: return r.body
        case 200 where offset == 0: return Array(r.body.prefix(maxBytes))  // a store that ignores Range
        default: throw S3Client.failure(r, "GET \(k) (range from \(offset))")
        }
    }

    /// S3 keys are at most 1024 bytes of UTF-8, the configured prefix included.
    public func keyProblem(_ key: String) -> String? {
        let n = client.location.objectKey(key).utf8.count
        return n > 1024 ? "the S3 key would be \(n) bytes with the lake's prefix; S3 allows 1024" : nil
    }

    public func check() async throws {
        let r = try await client.send("HEAD", nil)
        guard r.status == 200 else { throw S3Client.failure(r, "HEAD bucket \(client.location.bucket)") }
    }

    /// Start-up housekeeping: aborts multipart uploads this node began and left for longer than
    /// `olderThan` (their objects were never committed; a retry starts them afresh).
    public func abortStaleMultipartUploads(olderThan seconds: Double) async {
        await multipart.abortStale(olderThan: seconds)
    }

    /// Reads an object (tests and tools; bounded in size).
    public func get(key: String, limit: Int = 64 << 20) async throws -> [UInt8]? {
        let k = client.location.objectKey(key)
        let r = try await client.send("GET", k, responseLimit: limit)
        if r.status == 404 { return nil }
        guard r.status == 200 else { throw S3Client.failure(r, "GET \(k)") }
        return r.body
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func base64SHA256(hex: String) throws -> String {
        guard let raw = Self.unhex(hex), raw.count == 32 else { throw TributaryError(.io, "not a sha256: \(hex)") }
        return base64(raw)
    }

    static func unhex(_ s: String) -> [UInt8]? { Hex.decode(s) }
}

extension StreamingDigest {
    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        let d = StreamingDigest()
        d.update(bytes)
        return d.finalize()
    }
}
