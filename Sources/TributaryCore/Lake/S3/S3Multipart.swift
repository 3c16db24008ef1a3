#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import TributaryCurl
import TributaryProtocol
import TributaryFiles

/// Multipart uploads of large objects, resumable across a restart of the core.
///
/// State file `<data-dir>/s3-multipart/<sha256(bucket/key)>.json` (written atomically and
/// fsync'd after the upload is created and after every part):
///
///     {"bucket", "key", "upload_id", "size", "part_size", "sha256", "created": epoch seconds,
///      "parts": [{"number", "etag", "checksum"}], "upload": staged upload id (pipelined only)}
///
/// The same state is written by `S3PartShipper` for the parts it ships while the upload is still
/// being received (`PartPipeline`): the commit then finds them recorded and sends only the rest.
/// At commit the parts left are sent `parallelism` at a time, each read from the file by range.
///
/// A retried placement of the same key (the committer retries after a crash, with the same
/// bytes: keys embed the sha256) finds the state, skips the recorded parts and completes.
/// The state is removed once the object exists. A state whose upload the store no longer knows
/// (404 NoSuchUpload: aborted or expired) is dropped and the upload started afresh.
struct S3Multipart: Sendable {
    let client: S3Client
    let stateDirectory: String
    let logger: Logger

    /// Test hook: called after each part is stored and recorded (a thrown error stops the upload
    /// there, as a crash would).
    var afterPart: (@Sendable (Int) throws -> Void)?
    /// Where parts sent and multipart uploads aborted are counted (nil: nowhere).
    var metrics: NodeMetrics?

    init(client: S3Client, stateDirectory: String, logger: Logger) throws {
        self.client = client
        self.stateDirectory = stateDirectory
        self.logger = logger
        try FileIO.makeDirectories(stateDirectory)
    }

    struct State: Codable, Sendable {
        struct Part: Codable, Sendable {
            var number: Int
            var etag: String
            var checksum: String
        }
        var bucket: String
        var key: String
        var uploadID: String
        var size: UInt64
        var partSize: UInt64
        var sha256: String
        var created: Double
        var parts: [Part]
        /// The staged upload whose parts `S3PartShipper` shipped while it was received.
        var upload: String?

        func matches(key: String, size: UInt64, sha256: String, partSize: UInt64) -> Bool {
            self.key == key && self.size == size && self.sha256 == sha256 && self.partSize == partSize
        }

        enum CodingKeys: String, CodingKey {
            case bucket, key, size, sha256, created, parts, upload
            case uploadID = "upload_id"
            case partSize = "part_size"
        }
    }

    func statePath(_ objectKey: String) -> String {
        stateDirectory + "/" + StreamingDigest.sha256Hex(Array((client.location.bucket + "/" + objectKey).utf8)) + ".json"
    }

    func load(_ path: String) -> State? {
        guard FileIO.exists(path), let bytes = try? FileIO.readAll(path, limit: 8 << 20) else { return nil }
        return try? JSON.decode(State.self, bytes)
    }

    func save(_ state: State, _ path: String) async throws {
        try await FileIO.offload { try Self.write(state, path) }
    }

    /// Writes a state file, durably (blocking: on the I/O pool).
    static func write(_ state: State, _ path: String) throws {
        try FileIO.atomicWrite(path, try JSON.encode(state))
    }

    func upload(_ file: LakeFile, objectKey: String, conditional: Bool) async throws {
        let path = statePath(objectKey)
        let partSize = client.settings.partSizeBytes
        var state = load(path)
        if let s = state, !s.matches(key: objectKey, size: file.size, sha256: file.sha256, partSize: partSize) {
            await abort(s, reason: "state of other bytes")
            state = nil
        } else if let s = state, let shipper = s.upload, shipper != file.uploadID {
            // Parts another upload shipped while it was received come from bytes nobody verified
            // yet (its declared sha256 may be a lie): only its own commit may complete them.
            await abort(s, reason: "another upload's parts")
            state = nil
        }
        if state == nil {
            // Without a condition on completion, do not upload what is already there.
            if try await head(objectKey) == file.size {
                try? FileIO.removeTree(path)
                return
            }
        }
        for attempt in 0..<2 {
            if state == nil {
                state = try await create(file, objectKey: objectKey, partSize: partSize)
                try await save(state!, path)
            }
            switch try await uploadParts(&state!, file: file, path: path) {
            case .done:
                break
            case .uploadGone where attempt == 0:
                logger.notice("multipart upload unknown to the store; starting it again", metadata: ["lake.key": "\(objectKey)"])
                state = nil
                continue
            case .uploadGone:
                throw TributaryError(.io, "lake: multipart upload of \(objectKey) vanished twice")
            }
            switch try await complete(state!, conditional: conditional) {
            case .done:
                try await FileIO.offload { try FileIO.removeTree(path) }
                return
            case .uploadGone:
                // Completed by an attempt whose answer was lost, or aborted: the object decides.
                if try await head(objectKey) == file.size {
                    try await FileIO.offload { try FileIO.removeTree(path) }
                    return
                }
                state = nil
            }
        }
        throw TributaryError(.io, "lake: multipart upload of \(objectKey) did not complete")
    }

    enum Outcome { case done, uploadGone }

    func create(_ file: LakeFile, objectKey: String, partSize: UInt64) async throws -> State {
        try await create(objectKey: objectKey, size: file.size, sha256: file.sha256, partSize: partSize)
    }

    func create(objectKey: String, size: UInt64, sha256: String, partSize: UInt64, upload: String? = nil) async throws -> State {
        let r = try await client.send(
            "POST", objectKey, query: [("uploads", "")],
            headers: [("x-amz-checksum-algorithm", "SHA256"), ("Content-Type", "application/octet-stream")])
        guard r.status == 200, let id = S3Client.xmlValue(r.body, "UploadId"), !id.isEmpty else {
            throw S3Lake.placementFailure(r, "POST \(objectKey)?uploads")
        }
        return State(
            bucket: client.location.bucket, key: objectKey, uploadID: id, size: size, partSize: partSize, sha256: sha256,
            created: Date().timeIntervalSince1970, parts: [], upload: upload)
    }

    /// Sends the parts `state` does not record yet, `parallelism` at a time, recording each as
    /// it is stored.
    func uploadParts(_ state: inout State, file: LakeFile, path: String) async throws -> Outcome {
        let count = Int((file.size + state.partSize - 1) / state.partSize)
        let done = Set(state.parts.map(\.number))
        let todo = (1...max(1, count)).filter { !done.contains($0) }
        guard !todo.isEmpty else { return .done }
        let fd = try FileIO.open(file.scratchPath, O_RDONLY)
        defer { close(fd) }
        let width = max(1, client.settings.parallelism)
        let (key, uploadID, partSize, size) = (state.key, state.uploadID, state.partSize, file.size)
        return try await withThrowingTaskGroup(of: State.Part?.self) { group in
            var next = 0
            func start() {
                guard next < todo.count else { return }
                let number = todo[next]
                next += 1
                let offset = UInt64(number - 1) * partSize
                group.addTask {
                    try await self.sendPart(key: key, uploadID: uploadID, number: number, fd: fd, offset: offset, length: min(partSize, size - offset))
                }
            }
            for _ in 0..<width { start() }
            while let result = try await group.next() {
                guard let part = result else {
                    group.cancelAll()
                    return .uploadGone
                }
                state.parts.append(part)
                try await save(state, path)
                metrics?.s3Part(shipped: "commit")
                try afterPart?(part.number)
                start()
            }
            return .done
        }
    }

    /// Sends one part read from `fd` by range, with its sha256; nil if the store no longer knows
    /// the multipart upload (404).
    func sendPart(key: String, uploadID: String, number: Int, fd: Int32, offset: UInt64, length: UInt64) async throws -> State.Part? {
        let checksum = S3Lake.base64(try await FileIO.offload { try Self.sha256(fd: fd, offset: offset, length: length) })
        let r = try await client.send(
            "PUT", key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
            headers: [("x-amz-checksum-sha256", checksum)], body: .file(fd: fd, offset: offset, length: length))
        if r.status == 404 { return nil }
        guard r.status == 200, let etag = r.header("etag") else { throw S3Client.failure(r, "PUT \(key) part \(number)") }
        return State.Part(number: number, etag: etag, checksum: checksum)
    }

    func complete(_ state: State, conditional: Bool) async throws -> Outcome {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for p in state.parts.sorted(by: { $0.number < $1.number }) {
            xml += "<Part><PartNumber>\(p.number)</PartNumber><ETag>\(S3Client.xmlEscape(p.etag))</ETag>"
            xml += "<ChecksumSHA256>\(p.checksum)</ChecksumSHA256></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let body = Array(xml.utf8)
        var headers = [("Content-Type", "application/xml")]
        if conditional { headers.append(("If-None-Match", "*")) }
        let r = try await client.send("POST", state.key, query: [("uploadId", state.uploadID)], headers: headers, body: .bytes(body))
        switch r.status {
        case 200 where S3Client.xmlValue(r.body, "Code") == nil:
            return .done
        case 412:
            // The key exists (same bytes): this upload is not needed.
            await abort(state, reason: "key exists")
            return .done
        case 404:
            return .uploadGone
        default:
            throw S3Client.failure(r, "POST \(state.key)?uploadId (complete)")
        }
    }

    /// Content-Length of an object, or nil if it does not exist.
    func head(_ objectKey: String) async throws -> UInt64? {
        let r = try await client.send("HEAD", objectKey)
        if r.status == 404 { return nil }
        guard r.status == 200 else { throw S3Client.failure(r, "HEAD \(objectKey)") }
        return r.header("content-length").flatMap { UInt64($0) }
    }

    /// AbortMultipartUpload (best effort: a store that keeps it lets it expire), counted by reason.
    func abort(_ state: State, reason: String) async {
        _ = try? await client.send("DELETE", state.key, query: [("uploadId", state.uploadID)])
        metrics?.s3MultipartAborted(reason: reason)
    }

    /// The states recorded for parts shipped while staged upload `upload` was received.
    func states(ofUpload upload: String) -> [(path: String, state: State)] {
        FileIO.list(stateDirectory).compactMap { name in
            guard name.hasSuffix(".json") else { return nil }
            let path = stateDirectory + "/" + name
            guard let s = load(path), s.upload == upload else { return nil }
            return (path, s)
        }
    }

    func abortStale(olderThan seconds: Double) async {
        let now = Date().timeIntervalSince1970
        for name in FileIO.list(stateDirectory) where name.hasSuffix(".json") {
            let path = stateDirectory + "/" + name
            guard let s = load(path) else {
                try? FileIO.removeTree(path)
                continue
            }
            guard now - s.created > seconds else { continue }
            logger.notice("aborting a stale multipart upload", metadata: ["lake.key": "\(s.key)"])
            await abort(s, reason: "stale")
            try? FileIO.removeTree(path)
        }
    }

    static func sha256(fd: Int32, offset: UInt64, length: UInt64) throws -> [UInt8] {
        let d = StreamingDigest()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var done: UInt64 = 0
        while done < length {
            let want = Int(min(UInt64(buffer.count), length - done))
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset + done)) }
            if n < 0 { if errno == EINTR { continue }; throw FileIO.error("pread", "scratch file") }
            if n == 0 { throw TributaryError(.io, "scratch file ended early") }
            buffer.withUnsafeBytes { d.update(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
            done += UInt64(n)
        }
        return d.finalize()
    }
}
