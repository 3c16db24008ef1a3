import Foundation
import Testing
@testable import TributaryCore
import TributaryProtocol
import TributaryTestKit

/// What the committer tells the lake about staged uploads whose object could be shipped ahead of
/// the commit (`LakeStore.stagedBytesDurable` / `stagedUploadEnded`; the S3 lake's `PartPipeline`).
@Suite("Committer: pipelined placement")
struct CommitterPipelineTests {
    static let content = TestBytes.random(50_000, seed: 71)

    @Test("an identity object with a declared sha256 is announced under the key its commit places")
    func announcedUnderFinalKey() async throws {
        let h = try await CommitterHarness(.memory)
        let info = try h.stageObject(name: "big.bin", bytes: Self.content)
        h.committer.durable(info, bytes: 20_000)
        let outcome = try await h.commit(info)
        let key = try #require(outcome.receipt.objects.first?.key)
        #expect(
            h.lake.stagedCalls == [
                .durable(StagedObject(uploadID: info.id, key: key, sha256: StreamingDigest.sha256Hex(Self.content), size: 50_000,
                    durableBytes: 20_000, dataPath: h.staging.dataPath(info.id))),
                .ended(uploadID: info.id, placing: [key], reason: "key changed"),
            ])
    }

    @Test("a duplicate at commit ends the pipelined object with nothing placed")
    func duplicateEnds() async throws {
        let h = try await CommitterHarness(.memory)
        _ = try await h.commit(try h.stageObject(name: "a.bin", bytes: Self.content))
        let again = try h.stageObject(name: "b.bin", bytes: Self.content)
        let outcome = try await h.commit(again)
        #expect(outcome.receipt.objects.map(\.status) == [.duplicate])
        #expect(h.lake.stagedCalls.last == .ended(uploadID: again.id, placing: [], reason: "duplicate"))
    }

    @Test("without captured-at the announced key carries the day of the announcement; a commit on another day places elsewhere")
    func keyChangedAcrossMidnight() async throws {
        let h = try await CommitterHarness(.memory)
        let info = try h.stageObject(name: "late.bin", bytes: Self.content, capturedAt: nil)
        let guessed = try #require(h.committer.plannedKey(info, now: CommitterHarness.now))
        let outcome = try await h.commit(info, now: CommitterHarness.now.addingTimeInterval(86_400))
        let placed = try #require(outcome.receipt.objects.first?.key)
        #expect(guessed != placed)
        #expect(h.lake.stagedCalls == [.ended(uploadID: info.id, placing: [placed], reason: "key changed")])
    }

    @Test("segments, encoded objects and objects without a declared sha256 are never announced")
    func notPipelined() async throws {
        let h = try await CommitterHarness(.memory)
        let undeclared = try h.stageObject(name: "u.bin", bytes: Self.content, declareSHA: false)
        let zstd = try h.stage(
            ["name": "z.bin", "stream": "vibration", "encoding": "zstd", "sha256": StreamingDigest.sha256Hex(Self.content)],
            body: try SegmentFixtures.compress(Self.content))
        for info in [undeclared, zstd] {
            #expect(h.committer.plannedKey(info, now: CommitterHarness.now) == nil)
            h.committer.durable(info, bytes: 10)
            h.committer.ended(info, reason: "expired")
            _ = try await h.commit(info)
        }
        #expect(h.lake.stagedCalls.isEmpty)
    }
}
