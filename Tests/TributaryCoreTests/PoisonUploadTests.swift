import Foundation
import Logging
import Testing
import TributaryCore
import TributaryProtocol
import TributaryTestKit

/// Keys that always fit, poison uploads set aside, and the dedup loser's copy removed after a
/// crash (issue 9), through the real `Committer` and `UploadRegistry` over every catalog.
@Suite("Poison uploads and lake keys")
struct PoisonUploadTests {
    @Test("commit attempts: one crash is retried, two quarantine; failures count only when asked")
    func attemptsPolicy() {
        let p = CommitAttempts.Policy(maxCrashes: 2, maxFailures: 3)
        var a = CommitAttempts()
        #expect(a.quarantineReason(p) == nil)
        a.begin()  // the node dies during it
        #expect(a.crashes == 1)
        #expect(a.quarantineReason(p) == nil)
        a.begin()
        #expect(a.quarantineReason(p)?.contains("interrupted 2 times") == true)

        var b = CommitAttempts()
        for i in 0..<5 {
            b.begin()
            b.failed("lake down", counted: false)
            #expect(b.crashes == 0, "attempt \(i)")
        }
        #expect(b.quarantineReason(p) == nil, "failures during an outage never quarantine")
        for _ in 0..<3 {
            b.begin()
            b.failed("No space left on device", counted: true)
        }
        #expect(b.quarantineReason(p)?.contains("No space left on device") == true)
    }

    @Test("an over-long file name is shortened to 255 bytes, keeping the hash tag and extension")
    func longNameShortened() throws {
        let sha = String(repeating: "ab", count: 32)
        let name = "dir/" + String(repeating: "x", count: 250) + ".csv.gz"
        let key = PartitionTemplate.default.key(stream: "s", site: "plant-a", capturedAtUTC: "2026-11-21T10:00:00.000Z", name: name, sha256: sha)
        let last = try #require(key.split(separator: "/").last)
        #expect(last.utf8.count == 255)
        #expect(last.hasSuffix("." + sha.prefix(16) + ".csv.gz"))
        #expect(last.hasPrefix("xxxx"))
        #expect(key.hasPrefix("stream=s/site=plant-a/date=2026-11-21/dir/"))
        // Deterministic: the same name and content give the same key.
        #expect(key == PartitionTemplate.default.key(stream: "s", site: "plant-a", capturedAtUTC: "2026-11-21T10:00:00.000Z", name: name, sha256: sha))
        // Names that fit are untouched.
        let short = PartitionTemplate.default.key(stream: "s", site: "plant-a", capturedAtUTC: "2026-11-21T10:00:00.000Z", name: "a.csv", sha256: sha)
        #expect(short.hasSuffix("/a.\(sha.prefix(16)).csv"))
        // Every component of the longest valid name fits NAME_MAX.
        let longest = (0..<4).map { _ in String(repeating: "y", count: 255) }.joined(separator: "/")
        let k2 = PartitionTemplate.default.key(stream: "s", site: "p", capturedAtUTC: "2026-11-21T10:00:00.000Z", name: longest, sha256: sha)
        #expect(k2.split(separator: "/").allSatisfy { $0.utf8.count <= 255 })
        #expect(MemoryLake().keyProblem(k2) == nil)
    }

    @Test("an S3 key past 1024 bytes with the lake's prefix does not fit")
    func s3KeyLimit() throws {
        let dir = try TemporaryDirectory(prefix: "tributary-s3key")
        let prefix = String(repeating: "p", count: 900)
        var settings = S3Settings()
        settings.endpoint = "http://127.0.0.1:1"
        settings.accessKeyID = "k"
        settings.secretAccessKey = "s"
        let lake = try S3Lake(
            location: try S3Location("s3://bucket/" + prefix), settings: settings, stateDirectory: dir.path("mp"),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        #expect(lake.keyProblem(String(repeating: "k", count: 100)) == nil)
        #expect(lake.keyProblem(String(repeating: "k", count: 200))?.contains("1024") == true)
    }

    @Test("a commit crashed twice is quarantined: moved aside, counted, answered 422", arguments: CatalogKind.available)
    func crashedTwice(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        try await h.catalog.addSite("plant-a", tokenSHA256: StreamingDigest.sha256Hex(Array("t".utf8)), createdAt: "2026-11-21T10:00:00.000Z")
        let info = try h.stageObject(name: "poison.bin", bytes: TestBytes.random(1000, seed: 7))
        try h.staging.persistOffset(info.id, info.length)  // all bytes received, as the PATCH path leaves it
        try h.staging.writeAttempts(info.id, CommitAttempts(started: 2, ended: 0))
        let registry = UploadRegistry(staging: h.staging, catalog: h.catalog)
        _ = await registry.loadAll()
        let pending = await registry.pendingCommits()
        #expect(pending.map(\.id) == [info.id])
        do {
            try await h.committer.commitStaged(info, registry: registry)
            Issue.record("a twice-crashed commit ran again")
        } catch let e as TributaryError {
            #expect(e.code == .quarantined)
        }
        #expect(!h.isStaged(info.id))
        #expect(h.objectKeys.isEmpty)
        let record = try #require(h.staging.quarantined(info.id))
        #expect(record.site == "plant-a")
        #expect(record.reason.contains("interrupted"))
        #expect(FileManager.default.fileExists(atPath: h.staging.quarantineRoot + "/" + info.id + "/data"), "the bytes are kept for an operator")
        await #expect(throws: TributaryError.self) { try await registry.lookup(info.id, site: "plant-a") }
        let state = try #require(try await h.catalog.siteStates().first { $0.site == "plant-a" })
        #expect(state.rejections["quarantined"] == 1)
        // A new registry (a restart) knows it too.
        let again = UploadRegistry(staging: h.staging, catalog: h.catalog)
        _ = await again.loadAll()
        #expect(await again.pendingCommits().isEmpty)
        do {
            _ = try await again.lookup(info.id, site: "plant-a")
            Issue.record("a quarantined upload was found as active")
        } catch let e as TributaryError {
            #expect(e.code == .quarantined)
        }
    }

    @Test("one interrupted attempt is committed normally", arguments: CatalogKind.available)
    func crashedOnce(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        try await h.catalog.addSite("plant-a", tokenSHA256: StreamingDigest.sha256Hex(Array("t".utf8)), createdAt: "2026-11-21T10:00:00.000Z")
        let info = try h.stageObject(name: "ok.bin", bytes: TestBytes.random(1000, seed: 8))
        try h.staging.persistOffset(info.id, info.length)
        try h.staging.writeAttempts(info.id, CommitAttempts(started: 1, ended: 0))
        let registry = UploadRegistry(staging: h.staging, catalog: h.catalog)
        _ = await registry.loadAll()
        _ = await registry.pendingCommits()
        try await h.committer.commitStaged(info, registry: registry)
        #expect(h.objectKeys.count == 1)
        #expect(!h.isStaged(info.id))
    }

    @Test("a staged upload of a revoked site is discarded, not committed", arguments: CatalogKind.available)
    func revokedSite(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        try await h.catalog.addSite("plant-a", tokenSHA256: StreamingDigest.sha256Hex(Array("t".utf8)), createdAt: "2026-11-21T10:00:00.000Z")
        let info = try h.stageObject(name: "late.bin", bytes: TestBytes.random(1000, seed: 10))
        try h.staging.persistOffset(info.id, info.length)
        let registry = UploadRegistry(staging: h.staging, catalog: h.catalog)
        _ = await registry.loadAll()
        _ = await registry.pendingCommits()
        #expect(try await h.catalog.revokeCredentials(site: "plant-a") == 1)
        do {
            try await h.committer.commitStaged(info, registry: registry)
            Issue.record("an upload of a revoked site was committed")
        } catch let e as DomainError {
            #expect(e.code == .unauthorized)
            #expect(CoreError.from(e).status == .unauthorized)
        }
        #expect(h.objectKeys.isEmpty)
        #expect(!h.isStaged(info.id))
        #expect(try await h.catalog.siteStates().first { $0.site == "plant-a" }?.counters.objectsStored ?? 0 == 0)
    }

    @Test("a copy placed by an attempt that then lost the dedup race is removed", arguments: CatalogKind.available)
    func dedupLoserCopyRemoved(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let content = TestBytes.random(4000, seed: 9)
        let a = try h.stageObject(name: "a.bin", bytes: content)
        // Attempt 1 of A journaled and placed its key, then the node died before the catalog commit.
        let keyA = expectedKey(name: "a.bin", bytes: content)
        try h.staging.recordPlacing(a.id, [keyA])
        let scratch = h.dir.path("scratch-a")
        try Data(content).write(to: URL(fileURLWithPath: scratch))
        try await h.lake.place([LakeFile(scratchPath: scratch, key: keyA, sha256: StreamingDigest.sha256Hex(content), size: 4000)])
        #expect(h.objectKeys == [keyA])
        // Meanwhile B stores the same content under its own name.
        let b = try h.stageObject(name: "b.bin", bytes: content)
        _ = try await h.commit(b)
        let keyB = expectedKey(name: "b.bin", bytes: content)
        // A's retry finds the content held: a duplicate naming B's key; A's copy must go.
        let outcome = try await h.commit(a)
        #expect(outcome.receipt.objects.map(\.status) == [.duplicate])
        #expect(outcome.receipt.objects.map(\.key) == [keyB])
        #expect(h.objectKeys == [keyB], "the lake holds one copy of the content")
    }
}
