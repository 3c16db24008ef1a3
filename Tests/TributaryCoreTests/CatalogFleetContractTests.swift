import Foundation
import Testing
@testable import TributaryCore
import TributaryProtocol

/// Per-site state (issue 5), one body per rule, run against every catalog backend.
@Suite("Catalog contract: per-site state")
struct CatalogFleetContractTests {
    typealias Nodes = CatalogContractTests.Nodes
    static let sha = CatalogContractTests.sha

    static func beat(_ site: String, pending: Int, dropped: Int64 = 0, at: TimeInterval, step: Int = 60, retention: Int = 3600) throws -> HeartbeatRecord {
        var r = FleetRulesTests.report(pending: pending, oldest: pending > 0 ? "2026-11-21T09:00:00.000Z" : nil, dropped: dropped)
        r.lastError = "link reset"
        return try HeartbeatRecord(site: site, report: r, receivedAt: Date(timeIntervalSince1970: at), step: step, retention: retention)
    }

    static let t0: TimeInterval = 1_795_255_200  // 2026-11-21T10:00:00Z

    @Test("a registered site without activity is listed with empty state", arguments: CatalogKind.available)
    func empty(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        try await n.first.addSite("plant-a", tokenSHA256: Self.sha("ta"), createdAt: "2026-11-21T09:00:00.000Z")
        let states = try await n.second.siteStates()
        #expect(states.map(\.site) == ["plant-a"])
        #expect(states[0].createdAt == "2026-11-21T09:00:00.000Z")
        #expect(states[0].lastSeen == nil && states[0].report == nil && states[0].counters == SiteCounters())
        #expect(try await n.first.siteState("nope") == nil)
    }

    @Test("heartbeats: the last report is kept as sent, drops are noticed when they grow", arguments: CatalogKind.available)
    func heartbeats(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        try await n.first.addSite("plant-a", tokenSHA256: Self.sha("ta"), createdAt: "2026-11-21T09:00:00.000Z")
        let b1 = try Self.beat("plant-a", pending: 3, dropped: 0, at: Self.t0)
        try await n.first.recordHeartbeat(b1)
        var s = try #require(try await n.second.siteState("plant-a"))
        #expect(s.report == b1.report)
        #expect(s.lastSeen == "2026-11-21T10:00:00.000Z" && s.lastReportAt == s.lastSeen)
        #expect(s.dropsChangedAt == nil)
        try await n.second.recordHeartbeat(try Self.beat("plant-a", pending: 5, dropped: 2, at: Self.t0 + 30))
        s = try #require(try await n.first.siteState("plant-a"))
        #expect(s.report?.pendingObjects == 5)
        #expect(s.dropsChangedAt == "2026-11-21T10:00:30.000Z")
        try await n.first.recordHeartbeat(try Self.beat("plant-a", pending: 0, dropped: 2, at: Self.t0 + 90))
        s = try #require(try await n.second.siteState("plant-a"))
        #expect(s.dropsChangedAt == "2026-11-21T10:00:30.000Z", "the same drop count again is no new drop")
        #expect(s.lastSeen == "2026-11-21T10:01:30.000Z")
        #expect(s.report?.lastError == "link reset")
    }

    @Test("drops: a counter that starts again (edge restart) is a new baseline, growth after it is a change", arguments: CatalogKind.available)
    func dropReset(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        try await n.first.addSite("plant-a", tokenSHA256: Self.sha("ta"), createdAt: "2026-11-21T09:00:00.000Z")
        try await n.first.recordHeartbeat(try Self.beat("plant-a", pending: 1, dropped: 5, at: Self.t0))
        #expect(try await n.second.siteState("plant-a")?.dropsChangedAt == "2026-11-21T10:00:00.000Z", "a first report with drops is a change")
        try await n.second.recordHeartbeat(try Self.beat("plant-a", pending: 1, dropped: 0, at: Self.t0 + 60))
        #expect(try await n.first.siteState("plant-a")?.dropsChangedAt == "2026-11-21T10:00:00.000Z", "a reset is no new drop")
        try await n.first.recordHeartbeat(try Self.beat("plant-a", pending: 1, dropped: 1, at: Self.t0 + 120))
        #expect(try await n.second.siteState("plant-a")?.dropsChangedAt == "2026-11-21T10:02:00.000Z", "growth from the new baseline")
    }

    @Test("backlog history: one point per step (the last wins), pruned past the retention", arguments: CatalogKind.available)
    func history(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        try await n.first.addSite("plant-a", tokenSHA256: Self.sha("ta"), createdAt: "2026-11-21T09:00:00.000Z")
        try await n.first.addSite("plant-b", tokenSHA256: Self.sha("tb"), createdAt: "2026-11-21T09:00:00.000Z")
        for (i, pending) in [1, 2, 3, 4, 5].enumerated() {
            try await n.first.recordHeartbeat(try Self.beat("plant-a", pending: pending, at: Self.t0 + Double(i) * 30, retention: 600))
        }
        try await n.second.recordHeartbeat(try Self.beat("plant-b", pending: 9, at: Self.t0))
        var h = try await n.second.backlogHistory(site: "plant-a", since: "2026-11-21T09:00:00.000Z")
        #expect(h["plant-a"]?.map(\.at) == ["2026-11-21T10:00:00.000Z", "2026-11-21T10:01:00.000Z", "2026-11-21T10:02:00.000Z"])
        #expect(h["plant-a"]?.map(\.pendingObjects) == [2, 4, 5])
        #expect(h["plant-a"]?.map(\.pendingBytes) == [200, 400, 500])
        #expect(h["plant-b"] == nil)
        h = try await n.first.backlogHistory(site: nil, since: "2026-11-21T10:01:00.000Z")
        #expect(h.keys.sorted() == ["plant-a"])
        #expect(h["plant-a"]?.count == 2)
        // Ten minutes later, with a 600 s retention: the first points go.
        try await n.first.recordHeartbeat(try Self.beat("plant-a", pending: 0, at: Self.t0 + 660, retention: 600))
        h = try await n.first.backlogHistory(site: "plant-a", since: "2026-11-21T09:00:00.000Z")
        #expect(h["plant-a"]?.map(\.at) == ["2026-11-21T10:01:00.000Z", "2026-11-21T10:02:00.000Z", "2026-11-21T10:11:00.000Z"])
    }

    @Test("commits count objects, bytes, duplicates and ingest lag in their transaction", arguments: CatalogKind.available)
    func commits(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        try await n.first.addSite("plant-a", tokenSHA256: Self.sha("ta"), createdAt: "2026-11-21T09:00:00.000Z")
        // received 1 s after captured; three arrivals, two contents.
        let id = String(repeating: "a", count: 32)
        let record = CatalogContractTests.record(upload: id, shas: [Self.sha("x"), Self.sha("y"), Self.sha("x")], keyPrefix: "k")
        _ = try await n.first.commit(record)
        _ = try await n.second.commit(record)  // the same upload again counts nothing
        _ = try await n.second.commit(CatalogContractTests.record(upload: String(repeating: "b", count: 32), shas: [Self.sha("y")], keyPrefix: "k2"))
        let s = try #require(try await n.first.siteState("plant-a"))
        #expect(s.counters.objectsReceived == 4 && s.counters.bytesReceived == 40)
        #expect(s.counters.objectsStored == 2 && s.counters.bytesStored == 20)
        #expect(s.counters.duplicates == 2 && s.counters.duplicateBytes == 20)
        #expect(s.lastCommitAt == "2026-11-21T10:00:01.000Z" && s.lastSeen == s.lastCommitAt)
        #expect(s.lag.count == 4 && s.lag.sumSeconds == 4)
        #expect(s.lag.counts[0] == 4, "a 1 s lag is in the ≤1 s bucket")
    }

    @Test("concurrent commits from two nodes lose no count", arguments: CatalogKind.available)
    func concurrentCounts(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        try await n.first.addSite("plant-a", tokenSHA256: Self.sha("ta"), createdAt: "2026-11-21T09:00:00.000Z")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<16 {
                let catalog = i % 2 == 0 ? n.first : n.second
                let record = CatalogContractTests.record(upload: String(format: "%032x", i + 100), shas: [Self.sha("c\(i)"), Self.sha("shared")], keyPrefix: "u\(i)")
                group.addTask { _ = try await catalog.commit(record) }
            }
            try await group.waitForAll()
        }
        let s = try #require(try await n.second.siteState("plant-a"))
        #expect(s.counters.objectsReceived == 32)
        #expect(s.counters.objectsStored == 17)
        #expect(s.counters.duplicates == 15)
        #expect(s.lag.count == 32 && s.lag.counts[0] == 32)
    }

    @Test("rejections are counted by reason and count as seen", arguments: CatalogKind.available)
    func rejections(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        try await n.first.addSite("plant-a", tokenSHA256: Self.sha("ta"), createdAt: "2026-11-21T09:00:00.000Z")
        try await n.first.recordRejection(site: "plant-a", reason: "checksum_mismatch", at: "2026-11-21T10:00:00.000Z")
        try await n.second.recordRejection(site: "plant-a", reason: "checksum_mismatch", at: "2026-11-21T10:00:05.000Z")
        try await n.second.recordRejection(site: "plant-a", reason: "corrupt_segment", at: "2026-11-21T10:00:03.000Z")
        let s = try #require(try await n.first.siteState("plant-a"))
        #expect(s.rejections == ["checksum_mismatch": 2, "corrupt_segment": 1])
        #expect(s.lastSeen == "2026-11-21T10:00:05.000Z")
        #expect(s.lastCommitAt == nil)
    }
}
