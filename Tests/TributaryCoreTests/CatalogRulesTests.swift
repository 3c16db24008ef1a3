import Testing
@testable import TributaryCore
import TributaryProtocol
import TributarySQLite

/// The rules above the catalog's storage verbs, without any backend.
@Suite("Catalog rules")
struct CatalogRulesTests {
    @Test("the drop rule: a change only when the reported count grows past the stored one")
    func drops() {
        let t1 = "2026-11-21T10:00:00.000Z", t2 = "2026-11-21T10:01:00.000Z"
        #expect(DropCounter.after(nil, reported: 0, at: t1) == DropCounter(count: 0, changedAt: nil))
        #expect(DropCounter.after(nil, reported: 3, at: t1) == DropCounter(count: 3, changedAt: t1))
        let held = DropCounter(count: 3, changedAt: t1)
        #expect(DropCounter.after(held, reported: 3, at: t2) == DropCounter(count: 3, changedAt: t1), "the same count")
        #expect(DropCounter.after(held, reported: 4, at: t2) == DropCounter(count: 4, changedAt: t2), "growth")
        #expect(DropCounter.after(held, reported: 1, at: t2) == DropCounter(count: 1, changedAt: t1), "a reset keeps the last change")
    }

    static func arrival(_ upload: String, _ seq: Int) -> ArrivalRecord {
        ArrivalRecord(
            uploadID: upload, seq: seq, site: "s", stream: "v", name: "o\(seq)", sha256: "h", size: 1, capturedAt: "c", receivedAt: "r",
            key: "k", status: .stored)
    }

    @Test("repair order: oldest commit first, ties by upload id, arrivals by seq")
    func repairOrder() {
        let pending = [
            PendingManifest(uploadID: "b", committedAt: "2", arrivals: [Self.arrival("b", 1), Self.arrival("b", 0)]),
            PendingManifest(uploadID: "a", committedAt: "2", arrivals: []),
            PendingManifest(uploadID: "z", committedAt: "1", arrivals: [Self.arrival("z", 2), Self.arrival("z", 0), Self.arrival("z", 1)]),
        ]
        let ordered = PendingManifest.inRepairOrder(pending)
        #expect(ordered.map(\.uploadID) == ["z", "a", "b"])
        #expect(ordered[0].arrivals.map(\.seq) == [0, 1, 2])
        #expect(ordered[2].arrivals.map(\.seq) == [0, 1])
    }

    @Test("a heartbeat's backlog point clamps what it cannot store")
    func point() throws {
        var r = FleetRulesTests.report(pending: 2, oldest: nil, dropped: 0)
        r.pendingBytes = .max
        let beat = try HeartbeatRecord(site: "s", report: r, receivedAt: .init(timeIntervalSince1970: 90), step: 60, retention: 600)
        #expect(beat.point == BacklogPoint(at: "1970-01-01T00:01:00.000Z", pendingObjects: 2, pendingBytes: .max))
    }

    @Test("records from rows: NULL where the schema forbids it, an unknown status or kind, a negative size are refused")
    func rows() throws {
        let good: [SQLValue] = [.text("u"), .integer(0), .text("s"), .text("v"), .text("n"), .text("h"), .integer(7), .text("c"), .text("r"),
                                .text("k"), .text("duplicate"), .null]
        #expect(try ArrivalRecord(row: SQLiteRow(values: good)).status == .duplicate)
        #expect(try ArrivalRecord(row: SQLiteRow(values: good)).relay == nil)
        var relayed = good
        relayed[11] = .text("core-eu")
        #expect(try ArrivalRecord(row: SQLiteRow(values: relayed)).relay == "core-eu")
        var bad = good
        bad[10] = .text("lost")
        #expect(throws: TributaryError.self) { try ArrivalRecord(row: SQLiteRow(values: bad)) }
        bad = good
        bad[6] = .integer(-1)
        #expect(throws: TributaryError.self) { try ArrivalRecord(row: SQLiteRow(values: bad)) }
        bad = good
        bad[0] = .null
        #expect(throws: TributaryError.self) { try ArrivalRecord(row: SQLiteRow(values: bad)) }
        #expect(throws: TributaryError.self) { try ArrivalRecord(row: SQLiteRow(values: Array(good.prefix(5)))) }
        #expect(throws: TributaryError.self) {
            try SiteCredential(row: SQLiteRow(values: [.text("s"), .text("password"), .text("v"), .text("c"), .null]))
        }
        #expect(try SiteCredential(row: SQLiteRow(values: [.text("s"), .text("token"), .text("v"), .text("c"), .null])).expiresAt == nil)
    }

    @Test("site states: lag buckets and rejections merged by site; unknown sites and buckets skipped")
    func merging() throws {
        let states = [SiteState(site: "a", createdAt: "t"), SiteState(site: "b", createdAt: "t")]
        let lag = [[SQLValue.text("a"), .integer(0), .integer(4)], [.text("b"), .integer(99), .integer(1)], [.text("x"), .integer(1), .integer(1)]]
        let rejections = [[SQLValue.text("b"), .text("bad-segment"), .integer(2)], [.text("x"), .text("y"), .integer(1)]]
        let out = try SiteState.merging(states, lag: lag.map(SQLiteRow.init), rejections: rejections.map(SQLiteRow.init))
        #expect(out[0].lag.counts[0] == 4 && out[1].lag.counts.allSatisfy { $0 == 0 })
        #expect(out[1].rejections == ["bad-segment": 2] && out[0].rejections.isEmpty)
    }
}
