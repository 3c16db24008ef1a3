import Foundation
import Logging
import Testing
import TributaryCore
import TributaryProtocol
import TributaryTestKit

/// Hashing an upload while it is received (`UploadDigest`): the running hash follows exactly the
/// durable bytes, and the commit uses it instead of reading the staged bytes again.
@Suite("Upload hashed while received")
struct UploadDigestTests {
    static func update(_ d: UploadDigest, _ bytes: [UInt8]) { bytes.withUnsafeBytes { d.update($0) } }

    @Test("a PATCH hashes into a fresh digest at 0, continues the kept one at its offset, and none elsewhere")
    func continuingRules() throws {
        let first = try #require(UploadDigest.continuing(at: 0, kept: nil))
        Self.update(first, Array("hello ".utf8))
        #expect(first.offset == 6)
        #expect(UploadDigest.continuing(at: 6, kept: nil) == nil, "none kept (a restart): the commit hashes the staged bytes")
        #expect(UploadDigest.continuing(at: 5, kept: first) == nil, "a digest of another offset is not continued")
        let next = try #require(UploadDigest.continuing(at: 6, kept: first))
        Self.update(next, Array("world".utf8))
        #expect(next.sha256Hex() == StreamingDigest.sha256Hex(Array("hello world".utf8)))
        // Once its hash is taken it hashes nothing more and is not continued.
        Self.update(next, Array("!".utf8))
        #expect(next.offset == 11)
        #expect(next.sha256Hex() == StreamingDigest.sha256Hex(Array("hello world".utf8)))
        #expect(UploadDigest.continuing(at: 11, kept: next) == nil)
    }

    @Test("the registry keeps the running hash of the durable offset only")
    func registryFollowsDurableOffset() async throws {
        let h = try await CommitterHarness(.memory)
        let body = TestBytes.random(3000, seed: 14)
        let registry = UploadRegistry(staging: h.staging, catalog: h.catalog)
        let info = try UploadInfo.fromMetadata(
            UploadMetadata(["name": "r.bin", "stream": "s"]), header: "", id: CommitterHarness.newID(), site: "plant-a", length: 3000,
            now: Date(), expiry: .seconds(3600))
        try await registry.admit(info, limits: SiteLimits(), freeBytes: 1 << 40)
        let id = info.id
        func patch(_ offset: UInt64) async throws {
            guard case .receive = try await registry.patch(id, site: "plant-a", offset: offset, bodyLength: 1000, now: Date()) else {
                throw TributaryError(.io, "PATCH at \(offset) not received")
            }
        }

        // First chunk, hashed from 0 and handed back with its durable chunk.
        try await patch(0)
        let d0 = try #require(await registry.takeDigest(id, at: 0))
        Self.update(d0, Array(body[0..<1000]))
        _ = try await registry.chunkStored(id, count: 1000, digest: d0)

        // Second chunk, also kept.
        try await patch(1000)
        let d1 = try #require(await registry.takeDigest(id, at: 1000), "the digest of the durable offset is continued")
        Self.update(d1, Array(body[1000..<2000]))
        _ = try await registry.chunkStored(id, count: 1000, digest: d1)

        // Third chunk discarded (a checksum mismatch): the running hash is gone with it.
        try await patch(2000)
        let wasted = try #require(await registry.takeDigest(id, at: 2000))
        Self.update(wasted, Array(repeating: 0xEE, count: 1000))
        await registry.chunkDiscarded(id)
        try await patch(2000)
        #expect(await registry.takeDigest(id, at: 2000) == nil, "after a discarded chunk the commit hashes the staged bytes")
        _ = try await registry.chunkStored(id, count: 1000, digest: nil)
        #expect(await registry.stagedSHA256(id, length: 3000) == nil)
    }

    @Test("a running hash that does not end at the new durable offset is not kept")
    func mismatchedOffsetDropped() async throws {
        let h = try await CommitterHarness(.memory)
        let registry = UploadRegistry(staging: h.staging, catalog: h.catalog)
        let info = try UploadInfo.fromMetadata(
            UploadMetadata(["name": "m.bin", "stream": "s"]), header: "", id: CommitterHarness.newID(), site: "plant-a", length: 100,
            now: Date(), expiry: .seconds(3600))
        try await registry.admit(info, limits: SiteLimits(), freeBytes: 1 << 40)
        _ = try await registry.patch(info.id, site: "plant-a", offset: 0, bodyLength: 100, now: Date())
        let d = try #require(await registry.takeDigest(info.id, at: 0))
        Self.update(d, Array(repeating: 1, count: 99))
        _ = try await registry.chunkStored(info.id, count: 100, digest: d)
        #expect(await registry.stagedSHA256(info.id, length: 100) == nil)
    }

    @Test("an identity object hashed while received commits without being hashed again", arguments: CatalogKind.available)
    func commitUsesStagedHash(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let bytes = TestBytes.random(70_000, seed: 3)
        let info = try h.stageObject(name: "clip.bin", bytes: bytes)
        let sha = StreamingDigest.sha256Hex(bytes)
        let outcome = try await h.committer.commit(info, stagedSHA256: sha, now: CommitterHarness.now)
        #expect(outcome.receipt.objects.map(\.sha256) == [sha])
        #expect(h.lake.bytes(at: try #require(outcome.receipt.objects.first?.key)) == bytes)
    }

    @Test("a staged file that is not the length hashed is read again, and refused when short")
    func stagedHashNotTrustedForAnotherLength() async throws {
        let h = try await CommitterHarness(.memory)
        let bytes = TestBytes.random(5_000, seed: 4)
        let info = try h.stageObject(name: "short.bin", bytes: bytes)
        // The staged data lost its tail: the running hash is of bytes no longer there.
        try Data(bytes.prefix(4_000)).write(to: URL(fileURLWithPath: h.staging.dataPath(info.id)))
        let error = await #expect(throws: TributaryError.self) {
            _ = try await h.committer.commit(info, stagedSHA256: StreamingDigest.sha256Hex(bytes), now: CommitterHarness.now)
        }
        #expect(error?.code == .io)
        #expect(h.objectKeys.isEmpty)
    }
}
