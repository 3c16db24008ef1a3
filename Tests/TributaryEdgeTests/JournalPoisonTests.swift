import Foundation
import Testing
import TributaryProtocol
import TributaryTestKit
@testable import TributaryEdge

/// The journal's part of lanes, poison batches, `retry-quarantined` and goodput.
@Suite struct JournalPoisonTests {
    func item(_ i: Int, size: UInt64 = 100, priority: Int = 0) -> NewObject {
        NewObject(stream: "s", name: "n\(i)", size: size, sha256: String(repeating: "\(i % 10)", count: 64),
                  capturedAt: "2026-11-21T10:00:0\(i % 10).000Z", priority: priority, file: "objects/f\(i)", compressible: i % 2 == 0)
    }

    func journal(_ n: Int) throws -> (Journal, [SpoolObject], TemporaryDirectory) {
        let dir = try TemporaryDirectory()
        let j = try Journal(spoolDirectory: dir.root)
        _ = try j.accept((1...n).map { item($0, priority: $0 == 3 ? 7 : 0) }, acceptedAt: "t", maxBytes: 1 << 30, maxObjects: 100, policy: .block)
        return (j, try j.pendingObjects(limit: 100), dir)
    }

    @Test func lanesAreSeparateAndAWaitingBatchGoesLast() throws {
        let (j, objs, _dir) = try journal(3)
        _ = _dir
        let big = try #require(try j.addBatch(kind: .object, encoding: .identity, file: objs[0].file, size: 100, sha256: objs[0].sha256,
                                             priority: objs[0].priority, createdAt: "t", objectIDs: [objs[0].id]))
        let s1 = try #require(try j.addBatch(kind: .segment, encoding: .zstd, file: "batches/a", size: 10, sha256: "x", priority: 0, createdAt: "t", objectIDs: [objs[1].id]))
        let s2 = try #require(try j.addBatch(kind: .segment, encoding: .zstd, file: "batches/b", size: 10, sha256: "y", priority: 0, createdAt: "t", objectIDs: [objs[2].id]))
        #expect(try j.batchCount(lane: .bulk) == 1 && j.batchCount(lane: .fresh) == 2)
        #expect(try j.nextBatch(lane: .bulk)?.id == big)
        #expect(try j.nextBatch(lane: .fresh)?.id == s1)
        #expect(try j.nextBatch(lane: .fresh, waiting: [s1])?.id == s2)
        // Every batch waiting: the first is still named (the lane waits for it).
        #expect(try j.nextBatch(lane: .fresh, waiting: [s1, s2])?.id == s1)
    }

    @Test func commitFailuresAreCountedDurablyPerBatch() throws {
        let (j, objs, _dir) = try journal(1)
        _ = _dir
        let id = try #require(try j.addBatch(kind: .segment, encoding: .zstd, file: "batches/a", size: 10, sha256: "x", priority: 0, createdAt: "t", objectIDs: [objs[0].id]))
        #expect(try j.countCommitFailure(batch: id) == 1)
        #expect(try j.countCommitFailure(batch: id) == 2)
        let reopened = try Journal(spoolDirectory: j.spoolDirectory)
        #expect(try reopened.nextBatch(lane: .fresh)?.commitFailures == 2)
        #expect(try reopened.counters()["commit_failures"] == 2)
    }

    @Test func aQuarantinedBatchGoesBackWithRetryButACorruptObjectStays() throws {
        let (j, objs, _dir) = try journal(3)
        _ = _dir
        let id = try #require(try j.addBatch(kind: .segment, encoding: .zstd, file: "batches/a", size: 10, sha256: "x", priority: 0, createdAt: "t",
                                            objectIDs: objs.map(\.id)))
        // All three set aside (a poison batch)…
        #expect(try j.releaseBatch(id, quarantine: objs.map(\.id), reason: "refused", at: "t").quarantined == 3)
        #expect(try j.pendingObjects(limit: 10).isEmpty)
        // …and one more found corrupt in the spool.
        _ = try j.accept([item(4)], acceptedAt: "t", maxBytes: 1 << 30, maxObjects: 100, policy: .block)
        let corrupt = try #require(try j.pendingObjects(limit: 10).first)
        try j.quarantinePending(corrupt.id, reason: "sha256 differs", at: "t")
        #expect(try j.status(configuration: EdgeConfiguration()).quarantined.count == 4)

        #expect(try j.retryQuarantined(acceptedAt: "t2") == 3)
        let back = try j.pendingObjects(limit: 10)
        #expect(Set(back.map(\.name)) == ["n1", "n2", "n3"])
        // Priority and compressibility survive the round trip.
        #expect(back.first { $0.name == "n3" }?.priority == 7 && back.first { $0.name == "n2" }?.compressible == true)
        #expect(try j.status(configuration: EdgeConfiguration()).quarantined.map(\.name) == ["n4"])
        #expect(try j.retryQuarantined(acceptedAt: "t3", includingCorrupt: true) == 1)
        #expect(try j.counters()["quarantine_retried"] == 4)
    }

    @Test func goodputCountersFollowChunks() throws {
        let (j, objs, _dir) = try journal(1)
        _ = _dir
        let id = try #require(try j.addBatch(kind: .segment, encoding: .zstd, file: "batches/a", size: 10, sha256: "x", priority: 0, createdAt: "t", objectIDs: [objs[0].id]))
        try j.recordChunk(batch: id, offset: 40, wireBytes: 40, goodBytes: 40)
        try j.countWasted(wireBytes: 60)
        let s = try j.status(configuration: EdgeConfiguration())
        #expect(s.goodput.wireBytes == 100 && s.goodput.goodBytes == 40 && s.goodput.ratio == 0.4)
        #expect(try j.nextBatch(lane: .fresh)?.uploadOffset == 40)
        let report = s.report(reportedAt: "2026-11-21T10:00:00Z")
        #expect(report.goodput?.ratio == 0.4)
        #expect(s.prometheusText(now: 0).contains("tributary_edge_wire_bytes_total{site=\"\"} 100"))
    }

    @Test func theReportListsQuarantinedObjectsUpToItsCeiling() throws {
        let (j, objs, _dir) = try journal(3)
        _ = _dir
        let id = try #require(try j.addBatch(kind: .segment, encoding: .zstd, file: "batches/a", size: 10, sha256: "x", priority: 0, createdAt: "t", objectIDs: objs.map(\.id)))
        _ = try j.releaseBatch(id, quarantine: objs.map(\.id), reason: "the core failed to commit it 5 times in a row", at: "2026-11-21T10:00:00Z")
        let r = try j.status(configuration: EdgeConfiguration()).report(reportedAt: "2026-11-21T10:00:00Z")
        #expect(r.quarantined?.count == 3 && r.quarantined?.first?.reason.contains("5 times") == true)
        #expect(r.quarantinedObjects == 3)
    }
}
