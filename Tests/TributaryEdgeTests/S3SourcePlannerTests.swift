import Foundation
import Testing
import TributaryProtocol
import TributaryTestKit
@testable import TributaryEdge

@Suite struct S3SourcePlannerTests {
    let planner = S3SourcePlanner(prefix: "in", streamFromPrefix: true, stream: "default", after: .delete, maxObjectBytes: 1000)

    func listed(_ key: String, _ etag: String = "e1", size: UInt64 = 10) -> S3ListedObject {
        S3ListedObject(key: key, etag: etag, size: size, lastModified: "")
    }

    @Test func keysMapToStreamsLikeTheInbox() {
        #expect(planner.listPrefix == "in/")
        #expect(planner.target("in/alarms/a/b.csv") == .object(stream: "alarms", name: "a/b.csv"))
        #expect(planner.target("in/top.csv") == .object(stream: "default", name: "top.csv"))
        #expect(planner.target("in/alarms/") == .skip)
        #expect(planner.target("in/alarms/.part") == .skip)
        #expect(planner.target("other/x") == .skip)
        guard case .refuse = planner.target("in/bad stream/x") else { Issue.record("a bad stream must be refused"); return }
        let fixed = S3SourcePlanner(prefix: "", streamFromPrefix: false, stream: "cams", after: .keep, maxObjectBytes: 1000)
        #expect(fixed.listPrefix == "" && fixed.target("a/b.jpg") == .object(stream: "cams", name: "a/b.jpg"))
    }

    @Test func newAndChangedAreTakenTheSameVersionIsNot() {
        let taken = RememberedSourceObject(etag: "e1", size: 10, state: .taken)
        #expect(planner.decide(listed("in/s/a"), remembered: nil, failures: 0) == .take(stream: "s", name: "a"))
        #expect(planner.decide(listed("in/s/a"), remembered: taken, failures: 0) == .nothing)
        #expect(planner.decide(listed("in/s/a", "e2"), remembered: taken, failures: 0) == .take(stream: "s", name: "a"))
        #expect(planner.decide(listed("in/s/a", size: 11), remembered: taken, failures: 0) == .take(stream: "s", name: "a"))
    }

    @Test func onlyDeliveredVersionsAreDeletedAndOnlyWithDelete() {
        let delivered = RememberedSourceObject(etag: "e1", size: 10, state: .delivered)
        #expect(planner.decide(listed("in/s/a"), remembered: delivered, failures: 0) == .delete)
        #expect(planner.decide(listed("in/s/a", "e2"), remembered: delivered, failures: 0) == .take(stream: "s", name: "a"))
        let keep = S3SourcePlanner(prefix: "in", streamFromPrefix: true, stream: "default", after: .keep, maxObjectBytes: 1000)
        #expect(keep.decide(listed("in/s/a"), remembered: delivered, failures: 0) == .nothing)
        #expect(S3SourcePlanner.verify(delivered: delivered, current: (etag: "e1", size: 10)) == .delete)
        #expect(S3SourcePlanner.verify(delivered: delivered, current: (etag: "e2", size: 10)) == .keep)
        #expect(S3SourcePlanner.verify(delivered: delivered, current: nil) == .forget)
    }

    @Test func tooLargeAndFailingVersionsAreSetAsideUntilTheyChange() {
        guard case .refuse = planner.decide(listed("in/s/big", size: 1001), remembered: nil, failures: 0) else {
            Issue.record("an object larger than the spool must be refused"); return
        }
        guard case .refuse = planner.decide(listed("in/s/a"), remembered: nil, failures: S3SourcePlanner.maxAttempts) else {
            Issue.record("a version that failed maxAttempts times must be set aside"); return
        }
        let refused = RememberedSourceObject(etag: "e1", size: 10, state: .refused, reason: "x")
        #expect(planner.decide(listed("in/s/a"), remembered: refused, failures: 0) == .nothing)
        #expect(planner.decide(listed("in/s/a", "e2"), remembered: refused, failures: 0) == .take(stream: "s", name: "a"))
    }

    @Test func goneKeysAreThoseNotListed() {
        #expect(planner.gone(remembered: ["a", "b", "c"], listed: ["b"]) == ["a", "c"])
    }

    @Test func theJournalRemembersTheVersionWithTheObjectAndMarksItDeliveredOnTheReceipt() throws {
        let dir = try TemporaryDirectory()
        let journal = try Journal(spoolDirectory: dir.root)
        let v = SourceVersion(source: "bucket", key: "in/s/a", etag: "e1", size: 3)
        let o = NewObject(stream: "s", name: "a", size: 3, sha256: String(repeating: "a", count: 64), capturedAt: "2026-11-30T10:00:00.000Z",
                          priority: 0, file: "objects/x", compressible: true, origin: v)
        _ = try journal.accept([o], acceptedAt: "2026-11-30T10:00:00.000Z", policy: SpoolPolicy(maxBytes: 100, maxObjects: 10, full: .block))
        #expect(try journal.sourceObjects("bucket")["in/s/a"] == RememberedSourceObject(etag: "e1", size: 3, state: .taken))
        let pending = try journal.pendingObjects(limit: 10)
        let batch = try #require(try journal.addBatch(
            kind: .segment, encoding: .zstd, file: "batches/b.seg", size: 1, sha256: "x", priority: 0, createdAt: "2026-11-30T10:00:00.000Z",
            objectIDs: pending.map(\.id)))
        #expect(try journal.sourceObjects("bucket")["in/s/a"]?.state == .taken)
        let receipt = CommitReceipt(uploadID: "u", site: "p", kind: .segment, committedAt: "2026-11-30T10:00:01.000Z", objects: [
            .init(stream: "s", name: "a", sha256: o.sha256, size: 3, status: .stored, key: "k"),
        ])
        _ = try journal.acknowledge(batch: batch, receipt: receipt)
        #expect(try journal.sourceObjects("bucket")["in/s/a"]?.state == .delivered)
        try journal.forgetSourceObjects("bucket", keys: ["in/s/a"], deleted: 1)
        #expect(try journal.sourceObjects("bucket").isEmpty)
        #expect(try journal.counters()["source_objects_deleted"] == 1)
    }
}
