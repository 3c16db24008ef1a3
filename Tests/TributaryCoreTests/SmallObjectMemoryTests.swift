import Foundation
import Testing
import TributaryFiles
import TributaryProtocol
import TributaryTestKit

@testable import TributaryCore

/// Small segment members kept in memory for a lake without a scratch directory (S3, and the
/// `MemoryLake` here): within the budget, released after every commit, scratch files beyond it.
@Suite("Small segment members in memory")
struct SmallObjectMemoryTests {
    static let small = TestBytes.compressible(3_000, seed: 51)
    static let other = TestBytes.random(2_000, seed: 52)
    static let large = TestBytes.random(40_000, seed: 53)

    func items() -> [SegmentItem] {
        [
            SegmentItem(name: "a.csv", bytes: Self.small, capturedAt: "2026-11-21T10:00:00Z"),
            SegmentItem(name: "b.bin", bytes: Self.other, capturedAt: "2026-11-21T10:00:00Z"),
            SegmentItem(name: "c.bin", bytes: Self.large, capturedAt: "2026-11-21T10:00:00Z"),
        ]
    }

    @Test("members within the budget are held in memory, the rest go to scratch files; all is released")
    func budget() async throws {
        let h = try await CommitterHarness(.memory)
        // Room for the two small members, not for the 40 kB one (also above the per-object cap).
        let memory = SmallObjectMemory(limitBytes: 6_000, maxObjectBytes: 32_000)
        let info = try h.stageSegment(items())
        let extracted = try Committer.extract(
            info, dataPath: h.staging.dataPath(info.id), scratchPrefix: h.dir.path("s-"), limit: 1 << 30, memory: memory)
        #expect(extracted.held[0] == Self.small)
        #expect(extracted.held[1] == Self.other)
        #expect(extracted.held[2] == nil)
        #expect(extracted.files.keys.sorted() == [2])
        #expect(try FileIO.readAll(try #require(extracted.files[2]), limit: 1 << 20) == Self.large)
        #expect(extracted.heldBytes == Self.small.count + Self.other.count)
        #expect(memory.reserved == extracted.heldBytes, "the caller releases after placing")
        memory.release(extracted.heldBytes)
        #expect(memory.reserved == 0)
    }

    @Test("a rejected segment releases what it reserved")
    func rejectedReleases() async throws {
        let h = try await CommitterHarness(.memory)
        let memory = SmallObjectMemory(limitBytes: 1 << 20, maxObjectBytes: 64 << 10)
        let body = try SegmentFixtures.segment(items())
        // The segment's declared sha256 is wrong: refused after every member was read.
        let info = try h.stage(["kind": "segment", "sha256": String(repeating: "0", count: 64)], body: body)
        let error = #expect(throws: TributaryError.self) {
            _ = try Committer.extract(
                info, dataPath: h.staging.dataPath(info.id), scratchPrefix: h.dir.path("s-"), limit: 1 << 30, memory: memory)
        }
        #expect(error?.code == .checksumMismatch)
        #expect(memory.reserved == 0)
    }

    @Test("commits through a lake without scratch directory place the held bytes and release the budget", arguments: CatalogKind.available)
    func commitReleases(kind: CatalogKind) async throws {
        var h = try await CommitterHarness(kind)
        let memory = SmallObjectMemory(limitBytes: 6_000, maxObjectBytes: 32_000)
        h.committer.smallObjectMemory = memory
        let outcome = try await h.commit(try h.stageSegment(items()))
        #expect(outcome.receipt.objects.map(\.status) == [.stored, .stored, .stored])
        for (o, bytes) in zip(outcome.receipt.objects, [Self.small, Self.other, Self.large]) {
            #expect(h.lake.bytes(at: o.key) == bytes)
        }
        #expect(memory.reserved == 0)
    }
}
