import Foundation
import Logging
import Synchronization
import Testing
@testable import TributaryCore
import TributaryFiles
import TributaryProtocol
import TributaryTestKit

/// The lake backends every lake test body runs against: memory and filesystem always, S3 when
/// `TRIBUTARY_TEST_S3_ENDPOINT` and `TRIBUTARY_TEST_S3_BUCKET` name a store (scripts/test.sh
/// starts SeaweedFS) with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`.
enum LakeKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case memory
    case filesystem
    case s3

    var description: String { rawValue }

    static var s3Settings: (S3Settings, bucket: String)? {
        let env = ProcessInfo.processInfo.environment
        guard let endpoint = env["TRIBUTARY_TEST_S3_ENDPOINT"], let bucket = env["TRIBUTARY_TEST_S3_BUCKET"] else { return nil }
        var s = S3Settings()
        s.endpoint = endpoint
        s.accessKeyID = env["AWS_ACCESS_KEY_ID"]
        s.secretAccessKey = env["AWS_SECRET_ACCESS_KEY"]
        s.multipartThresholdBytes = 5 << 20
        s.partSizeBytes = 5 << 20
        return (s, bucket)
    }

    static var available: [LakeKind] { s3Settings == nil ? [.memory, .filesystem] : allCases }
}

/// A lake of one kind in a temporary place (an S3 lake under a fresh prefix), with a way to
/// read keys back and scratch files to place.
struct LakeUnderTest {
    let dir: TemporaryDirectory
    let lake: any LakeStore
    let kind: LakeKind

    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    init(_ kind: LakeKind, settings: ((inout S3Settings) -> Void)? = nil, prefix: String? = nil, afterPart: (@Sendable (Int) throws -> Void)? = nil) throws {
        self.kind = kind
        dir = try TemporaryDirectory(prefix: "tributary-lake")
        switch kind {
        case .memory:
            lake = MemoryLake()
        case .filesystem:
            lake = try FileSystemLake(root: dir.path("lake"))
        case .s3:
            var (s, bucket) = try #require(LakeKind.s3Settings)
            settings?(&s)
            let p = prefix ?? "test-" + Hex.encode(secureRandomBytes(6))
            lake = try S3Lake(
                location: try S3Location("s3://\(bucket)/\(p)"), settings: s, stateDirectory: dir.path("s3-multipart"), logger: Self.logger,
                afterPart: afterPart)
        }
    }

    var prefix: String { (lake as? S3Lake)?.location.prefix ?? "" }

    func read(_ key: String) async throws -> [UInt8]? {
        switch lake {
        case let m as MemoryLake: return m.bytes(at: key)
        case let f as FileSystemLake:
            let path = f.root + "/" + key
            return FileManager.default.fileExists(atPath: path) ? Array(try Data(contentsOf: URL(fileURLWithPath: path))) : nil
        case let s as S3Lake: return try await s.get(key: key)
        default: return nil
        }
    }

    /// Writes `bytes` to a scratch file (in the lake's scratch directory when it has one).
    func scratch(_ bytes: [UInt8], name: String = UUID().uuidString, key: String) throws -> LakeFile {
        let base = lake.scratchDirectory ?? dir.path("scratch")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let path = base + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return LakeFile(scratchPath: path, key: key, sha256: StreamingDigest.sha256Hex(bytes), size: UInt64(bytes.count))
    }
}

@Suite("Lake contract")
struct LakeContractTests {
    static let a = TestBytes.random(70_000, seed: 61)
    static let b = TestBytes.compressible(3_000, seed: 62)

    @Test("placed files read back byte for byte under their keys", arguments: LakeKind.available)
    func place(kind: LakeKind) async throws {
        let l = try LakeUnderTest(kind)
        let k1 = "stream=v/site=s/date=2026-11-21/dir/a b.\(StreamingDigest.sha256Hex(Self.a).prefix(16)).bin"
        let k2 = "stream=v/site=s/date=2026-11-21/b+é.csv"
        try await l.lake.place([try l.scratch(Self.a, key: k1), try l.scratch(Self.b, key: k2), try l.scratch([], key: "stream=v/empty")])
        #expect(try await l.read(k1) == Self.a)
        #expect(try await l.read(k2) == Self.b)
        #expect(try await l.read("stream=v/empty") == [])
        #expect(try await l.read("stream=v/missing") == nil)
        try await l.lake.check()
    }

    @Test("placing an existing key again leaves it as it is", arguments: LakeKind.available)
    func placeAgain(kind: LakeKind) async throws {
        let l = try LakeUnderTest(kind)
        try await l.lake.place([try l.scratch(Self.a, key: "k/x")])
        try await l.lake.place([try l.scratch(Self.a, key: "k/x")])
        #expect(try await l.read("k/x") == Self.a)
    }

    @Test("many files in one placement", arguments: LakeKind.available)
    func many(kind: LakeKind) async throws {
        let l = try LakeUnderTest(kind)
        let files = try (0..<40).map { i in try l.scratch(TestBytes.random(1_000 + i, seed: UInt64(i)), key: "many/\(i).bin") }
        try await l.lake.place(files)
        for i in [0, 17, 39] { #expect(try await l.read("many/\(i).bin") == TestBytes.random(1_000 + i, seed: UInt64(i))) }
    }

    @Test("metadata is written and replaced; remove deletes, and a missing key is no error", arguments: LakeKind.available)
    func metadataAndRemove(kind: LakeKind) async throws {
        let l = try LakeUnderTest(kind)
        try await l.lake.writeMetadata(key: "_tributary/arrivals/p/1.jsonl", bytes: Array("one\n".utf8))
        try await l.lake.writeMetadata(key: "_tributary/arrivals/p/1.jsonl", bytes: Array("two\n".utf8))
        #expect(try await l.read("_tributary/arrivals/p/1.jsonl") == Array("two\n".utf8))
        try await l.lake.place([try l.scratch(Self.b, key: "r/x")])
        try await l.lake.remove(key: "r/x")
        #expect(try await l.read("r/x") == nil)
        try await l.lake.remove(key: "r/x")
    }

    // MARK: S3 only

    @Test("S3: a body that does not match its checksum is refused by the store", .enabled(if: LakeKind.s3Settings != nil))
    func s3BadChecksum() async throws {
        let l = try LakeUnderTest(.s3)
        var f = try l.scratch(Self.b, key: "bad/x")
        f.sha256 = StreamingDigest.sha256Hex(Self.a)
        let error = await #expect(throws: TributaryError.self) { try await l.lake.place([f]) }
        #expect(error?.code == .io)
        #expect(try await l.read("bad/x") == nil)
    }

    @Test("S3: a large object goes multipart and a restarted core resumes it", .enabled(if: LakeKind.s3Settings != nil))
    func s3MultipartResume() async throws {
        let big = TestBytes.random(11 << 20, seed: 63)
        let first = try LakeUnderTest(.s3, afterPart: { n in if n == 1 { throw TributaryError(.io, "crash after part 1") } })
        let file = try first.scratch(big, key: "big/x.bin")
        await #expect(throws: TributaryError.self) { try await first.lake.place([file]) }
        #expect(try await first.read("big/x.bin") == nil)
        let states = try FileManager.default.contentsOfDirectory(atPath: first.dir.path("s3-multipart"))
        #expect(states.count == 1, "the upload id and part 1 are recorded")
        // Parts go up concurrently: part 1 and whatever else finished before it are recorded.
        let recorded = try JSON.decode(
            S3Multipart.State.self, try FileIO.readAll(first.dir.path("s3-multipart") + "/" + (states.first ?? ""), limit: 1 << 20)
        ).parts.map(\.number)
        #expect(recorded.contains(1))

        // A new lake over the same state directory: only the parts not recorded are sent.
        let sent = Mutex<[Int]>([])
        var s = try #require(LakeKind.s3Settings).0
        s.multipartThresholdBytes = 5 << 20
        let second = try S3Lake(
            location: try S3Location("s3://\(try #require(LakeKind.s3Settings).bucket)/\(first.prefix)"), settings: s,
            stateDirectory: first.dir.path("s3-multipart"), logger: LakeUnderTest.logger, afterPart: { n in sent.withLock { $0.append(n) } })
        try await second.place([file])
        let missing = [1, 2, 3].filter { !recorded.contains($0) }
        #expect(sent.withLock { $0 }.sorted() == missing)
        #expect(try await second.get(key: "big/x.bin", limit: 16 << 20) == big)
        #expect(try FileManager.default.contentsOfDirectory(atPath: first.dir.path("s3-multipart")).isEmpty, "state removed when done")

        // Placing it again is a no-op (the key exists).
        try await second.place([file])
        #expect(sent.withLock { $0 }.sorted() == missing)
    }

    @Test("S3: parts durable while an upload is received are shipped ahead; the commit sends the rest", .enabled(if: LakeKind.s3Settings != nil))
    func s3PartsShippedAhead() async throws {
        let big = TestBytes.random(11 << 20, seed: 64)
        let sent = Mutex<[Int]>([])
        let metrics = NodeMetrics()
        let l = try LakeUnderTest(.s3, settings: { $0.multipartThresholdBytes = 5 << 20 }, afterPart: { n in sent.withLock { $0.append(n) } })
        let s3 = try #require(l.lake as? S3Lake)
        let lake = try S3Lake(
            location: s3.location, settings: s3.client.settings, stateDirectory: l.dir.path("s3-multipart"), logger: LakeUnderTest.logger,
            afterPart: { n in sent.withLock { $0.append(n) } }, metrics: metrics)
        var file = try l.scratch(big, key: "ahead/x.bin")
        file.uploadID = "u1"
        let staged = StagedObject(uploadID: "u1", key: "ahead/x.bin", sha256: file.sha256, size: file.size, durableBytes: 10 << 20, dataPath: file.scratchPath)
        lake.stagedBytesDurable(staged)
        // Parts 1 and 2 (the durable 10 MiB) go up in the background; wait for them to be recorded.
        try await waitFor { metrics.text().contains("tributary_core_s3_parts_total{when=\"receiving\"} 2") }
        #expect(try await l.read("ahead/x.bin") == nil, "nothing is visible before the commit")
        try await lake.place([file])
        #expect(sent.withLock { $0 } == [3], "the commit sends only the tail")
        #expect(try await lake.get(key: "ahead/x.bin", limit: 16 << 20) == big)
        #expect(try FileManager.default.contentsOfDirectory(atPath: l.dir.path("s3-multipart")).isEmpty)

        // A duplicate: the second upload's parts are aborted, its state removed, the abort counted.
        let again = StagedObject(uploadID: "u2", key: "ahead/y.bin", sha256: file.sha256, size: file.size, durableBytes: 5 << 20, dataPath: file.scratchPath)
        lake.stagedBytesDurable(again)
        try await waitFor { metrics.text().contains("tributary_core_s3_parts_total{when=\"receiving\"} 3") }
        lake.stagedUploadEnded("u2", placing: [], reason: "duplicate")
        try await waitFor { metrics.text().contains("tributary_core_s3_multipart_aborted_total{reason=\"duplicate\"} 1") }
        try await waitFor { (try? FileManager.default.contentsOfDirectory(atPath: l.dir.path("s3-multipart")).isEmpty) == true }
        #expect(try await l.read("ahead/y.bin") == nil)

        // Parts one upload shipped (bytes not verified yet) are never completed by another
        // upload's commit of the same key: it aborts them and sends every part itself.
        let third = StagedObject(uploadID: "u3", key: "ahead/z.bin", sha256: file.sha256, size: file.size, durableBytes: 5 << 20, dataPath: file.scratchPath)
        lake.stagedBytesDurable(third)
        try await waitFor { metrics.text().contains("tributary_core_s3_parts_total{when=\"receiving\"} 4") }
        var other = try l.scratch(big, key: "ahead/z.bin")
        other.uploadID = "u4"
        sent.withLock { $0 = [] }
        try await lake.place([other])
        #expect(sent.withLock { $0 }.sorted() == [1, 2, 3])
        #expect(metrics.text().contains("tributary_core_s3_multipart_aborted_total{reason=\"another upload's parts\"} 1"))
        #expect(try await lake.get(key: "ahead/z.bin", limit: 16 << 20) == big)
    }

    /// Waits (at most 30 s) for background I/O against the real store to reach a state.
    func waitFor(_ condition: () throws -> Bool) async throws {
        for _ in 0..<3000 {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not reached within 30 s")
    }

    @Test("S3: HEAD-before-PUT mode places and skips existing keys", .enabled(if: LakeKind.s3Settings != nil))
    func s3HeadMode() async throws {
        let l = try LakeUnderTest(.s3, settings: { $0.conditionalCreate = "head" })
        try await l.lake.place([try l.scratch(Self.a, key: "h/x")])
        try await l.lake.place([try l.scratch(Self.a, key: "h/x")])
        #expect(try await l.read("h/x") == Self.a)
    }

    @Test("S3: an unreachable store is an I/O error (503), not a rejection")
    func s3Unreachable() async throws {
        var s = S3Settings()
        s.endpoint = "http://127.0.0.1:9"
        s.accessKeyID = "k"
        s.secretAccessKey = "s"
        s.requestTimeoutSeconds = 3
        let dir = try TemporaryDirectory(prefix: "tributary-lake")
        let lake = try S3Lake(location: try S3Location("s3://nothing-here"), settings: s, stateDirectory: dir.path("mp"), logger: LakeUnderTest.logger)
        let error = await #expect(throws: TributaryError.self) { try await lake.check() }
        #expect(error?.code == .io)
        #expect(error.map { CoreError.from($0).status.code } == 503)
    }
}
