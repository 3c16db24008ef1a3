import Foundation
import Logging
import Testing
import TributaryProtocol
import TributaryTestKit
@testable import TributaryEdge

@Suite struct JournalTests {
    func item(_ i: Int, size: UInt64 = 100, captured: String? = nil, priority: Int = 0) -> NewObject {
        NewObject(stream: "s", name: "n\(i)", size: size, sha256: String(repeating: "\(i % 10)", count: 64),
                  capturedAt: captured ?? "2026-11-21T10:00:0\(i % 10).000Z", priority: priority, file: "objects/f\(i)", compressible: true)
    }

    @Test func acceptEnforcesLimitsWithBlock() throws {
        let dir = try TemporaryDirectory()
        let j = try Journal(spoolDirectory: dir.root)
        _ = try j.accept([item(1), item(2)], acceptedAt: "t", maxBytes: 250, maxObjects: 10, policy: .block)
        #expect(throws: SpoolFullError.self) { try j.accept([item(3)], acceptedAt: "t", maxBytes: 250, maxObjects: 10, policy: .block) }
        #expect(try j.usage().objects == 2)
        #expect(throws: SpoolFullError.self) { try j.accept([item(3)], acceptedAt: "t", maxBytes: 1000, maxObjects: 2, policy: .block) }
    }

    @Test func dropOldestEvictsLowestPriorityThenOldestAndCounts() throws {
        let dir = try TemporaryDirectory()
        let j = try Journal(spoolDirectory: dir.root)
        _ = try j.accept([item(1, priority: 5), item(2), item(3)], acceptedAt: "t", maxBytes: 300, maxObjects: 10, policy: .dropOldest)
        let dropped = try j.accept([item(4, size: 150)], acceptedAt: "t", maxBytes: 300, maxObjects: 10, policy: .dropOldest)
        #expect(dropped.map(\.name) == ["n2", "n3"])
        #expect(try j.counters()["dropped_objects"] == 2)
        #expect(try j.counters()["dropped_bytes"] == 200)
        #expect(try j.usage().bytes == 250)
    }

    /// Eviction reads only the prefix of the order it needs (bytes or objects), and drops exactly
    /// what the policy would have dropped from the whole list.
    @Test func dropOldestEvictsOnlyWhatIsNeededByBytesOrByCount() throws {
        let dir = try TemporaryDirectory()
        let j = try Journal(spoolDirectory: dir.root)
        let many = (0..<200).map { item($0, size: 10, captured: "2026-11-21T10:\(String(100 + $0 / 60).suffix(2)):\(String(100 + $0 % 60).suffix(2)).000Z") }
        _ = try j.accept(many, acceptedAt: "t", maxBytes: 2000, maxObjects: 200, policy: .dropOldest)
        let later = "2026-11-22T00:00:00.000Z"
        // By bytes: 25 more bytes need 3 objects of 10 freed.
        var dropped = try j.accept([item(900, size: 25, captured: later)], acceptedAt: "t", maxBytes: 2000, maxObjects: 1000, policy: .dropOldest)
        #expect(dropped.map(\.name) == ["n0", "n1", "n2"])
        // By count: 198 objects + 4 new under a limit of 200 objects need 2 dropped (plenty of bytes).
        dropped = try j.accept((901...904).map { item($0, size: 1, captured: later) }, acceptedAt: "t", maxBytes: 1 << 20, maxObjects: 200, policy: .dropOldest)
        #expect(dropped.map(\.name) == ["n3", "n4"])
        #expect(try j.usage().objects == 200)
        // An object as large as the spool: every pending object goes, in order.
        dropped = try j.accept([item(905, size: 3000, captured: later)], acceptedAt: "t", maxBytes: 3000, maxObjects: 1000, policy: .dropOldest)
        #expect(dropped.count == 200 && dropped.first?.name == "n5" && dropped.last?.name == "n904")
        #expect(try j.usage().objects == 1)
    }

    @Test func acknowledgeRemovesOnlyWhatTheReceiptNames() throws {
        let dir = try TemporaryDirectory()
        let j = try Journal(spoolDirectory: dir.root)
        _ = try j.accept([item(1), item(2), item(3)], acceptedAt: "t", maxBytes: 1 << 30, maxObjects: 10, policy: .block)
        let objs = try j.pendingObjects(limit: 10)
        let id = try #require(try j.addBatch(kind: .segment, encoding: .zstd, file: "batches/b", size: 1, sha256: "x", priority: 0,
                                            createdAt: "t", objectIDs: objs.map(\.id)))
        // A second batch over the same objects is void.
        #expect(try j.addBatch(kind: .segment, encoding: .zstd, file: "batches/c", size: 1, sha256: "x", priority: 0, createdAt: "t", objectIDs: [objs[0].id]) == nil)
        let receipt = CommitReceipt(uploadID: "u", site: "a", kind: .segment, committedAt: "t", objects: objs.prefix(2).enumerated().map { i, o in
            CommitReceipt.Object(stream: o.stream, name: o.name, sha256: o.sha256, size: o.size, status: i == 0 ? .stored : .duplicate, key: "k")
        })
        let ack = try j.acknowledge(batch: id, receipt: receipt)
        #expect(ack.stored == 1 && ack.duplicates == 1 && ack.unnamed == 1)
        #expect(Set(ack.filesToRemove) == ["objects/f1", "objects/f2", "batches/b"])
        #expect(try j.pendingObjects(limit: 10).map(\.name) == ["n3"])
        #expect(try j.batchCount() == 0)
    }

    @Test func releaseQuarantinesAndRequeues() throws {
        let dir = try TemporaryDirectory()
        let j = try Journal(spoolDirectory: dir.root)
        _ = try j.accept([item(1), item(2)], acceptedAt: "t", maxBytes: 1 << 30, maxObjects: 10, policy: .block)
        let objs = try j.pendingObjects(limit: 10)
        let id = try #require(try j.addBatch(kind: .object, encoding: .identity, file: objs[0].file, size: 100, sha256: objs[0].sha256,
                                            priority: 0, createdAt: "t", objectIDs: [objs[0].id]))
        // The batch file is the object's own file: a quarantined object keeps it.
        #expect(try j.releaseBatch(id, quarantine: [objs[0].id], reason: "bad", at: "t").file == nil)
        #expect(try j.pendingObjects(limit: 10).map(\.name) == ["n2"])
        #expect(try j.referencedFiles().contains(objs[0].file))
        let s = try j.status(configuration: EdgeConfiguration())
        #expect(s.quarantined.map(\.name) == ["n1"] && s.pendingObjects == 1)
    }

    @Test func spoolIngestCopiesHashesAndRefusesClearly() throws {
        let dir = try TemporaryDirectory()
        let inbox = dir.path("in")
        mkdir(inbox, 0o755)
        let f = inbox + "/a.csv"
        try Data("t,v\n1,2\n".utf8).write(to: URL(fileURLWithPath: f))
        symlink(f, inbox + "/link.csv")
        var c = EdgeConfiguration()
        c.spoolDirectory = dir.path("spool")
        let spool = try SpoolIntake(directory: c.spoolDirectory, logger: Logger(label: "test"))
        let r = try spool.ingest([
            IntakeItem(sourcePath: f, stream: "s", name: "a.csv"),
            IntakeItem(sourcePath: inbox + "/link.csv", stream: "s", name: "link.csv"),
            IntakeItem(sourcePath: inbox + "/gone.csv", stream: "s", name: "gone.csv"),
            IntakeItem(sourcePath: f, stream: "s", name: "../up"),
        ], configuration: c)
        #expect(r.accepted.map(\.name) == ["a.csv"])
        #expect(r.accepted[0].sha256 == StreamingDigest.sha256Hex(Array("t,v\n1,2\n".utf8)))
        #expect(r.refused.map(\.reason) == [.symlink, .vanished, .invalidName])
        #expect(try Data(contentsOf: URL(fileURLWithPath: c.spoolDirectory + "/" + r.accepted[0].file)) == Data("t,v\n1,2\n".utf8))
    }
}
