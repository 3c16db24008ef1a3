import Foundation
import Testing
@testable import TributaryCore
import TributaryProtocol

@Suite("Fleet status rules")
struct FleetRulesTests {
    let rules = FleetRules(offlineAfterSeconds: 300, laggingAfterSeconds: 900, droppingWindowSeconds: 3600)
    let now = Date(timeIntervalSince1970: 1_795_255_200)

    func ago(_ s: Double) -> Date { now.addingTimeInterval(-s) }

    @Test("never seen, or silent past offline_after, is offline — before any other rule")
    func offline() {
        #expect(rules.health(lastSeen: nil, pendingObjects: 0, oldestPending: nil, dropsChangedAt: nil, now: now).0 == .offline)
        #expect(rules.health(lastSeen: nil, pendingObjects: 0, oldestPending: nil, dropsChangedAt: nil, now: now).1 == "never seen")
        let (h, why) = rules.health(lastSeen: ago(301), pendingObjects: 5, oldestPending: ago(5000), dropsChangedAt: ago(10), now: now)
        #expect(h == .offline)
        #expect(why == "silent for 5m01s")
        #expect(rules.health(lastSeen: ago(300), pendingObjects: 0, oldestPending: nil, dropsChangedAt: nil, now: now).0 == .healthy)
    }

    @Test("recent drops make a site dropping, also when it lags; old drops do not")
    func dropping() {
        #expect(rules.health(lastSeen: ago(1), pendingObjects: 5, oldestPending: ago(5000), dropsChangedAt: ago(3600), now: now).0 == .dropping)
        #expect(rules.health(lastSeen: ago(1), pendingObjects: 5, oldestPending: ago(5000), dropsChangedAt: ago(3601), now: now).0 == .lagging)
        #expect(rules.health(lastSeen: ago(1), pendingObjects: 0, oldestPending: nil, dropsChangedAt: ago(3601), now: now).0 == .healthy)
    }

    @Test("lagging needs pending objects whose oldest is older than lagging_after")
    func lagging() {
        #expect(rules.health(lastSeen: ago(1), pendingObjects: 1, oldestPending: ago(901), dropsChangedAt: nil, now: now).0 == .lagging)
        #expect(rules.health(lastSeen: ago(1), pendingObjects: 1, oldestPending: ago(900), dropsChangedAt: nil, now: now).0 == .healthy)
        #expect(rules.health(lastSeen: ago(1), pendingObjects: 0, oldestPending: ago(5000), dropsChangedAt: nil, now: now).0 == .healthy)
        #expect(rules.health(lastSeen: ago(1), pendingObjects: 3, oldestPending: nil, dropsChangedAt: nil, now: now).0 == .healthy)
    }

    @Test("durations read as an operator writes them")
    func durations() {
        #expect(FleetRules.duration(0) == "0s")
        #expect(FleetRules.duration(59.9) == "59s")
        #expect(FleetRules.duration(432) == "7m12s")
        #expect(FleetRules.duration(3 * 3600 + 5 * 60) == "3h05m")
        #expect(FleetRules.duration(2 * 86_400 + 4 * 3600) == "2d04h")
        #expect(FleetRules.duration(-5) == "0s")
    }

    @Test("lag histogram: buckets, quantile bounds, a negative lag counts as zero")
    func lagHistogram() {
        var h = LagHistogram()
        #expect(h.quantileUpperBound(0.5) == nil)
        for lag in [-3.0, 0.5, 1, 2, 4, 30, 30, 200, 1000, 100_000] { h.add(lag) }
        #expect(h.count == 10)
        #expect(h.counts == [3, 2, 0, 2, 1, 0, 1, 0, 0, 1])
        #expect(h.quantileUpperBound(0.5) == 5)
        #expect(h.quantileUpperBound(0.7) == 60)
        #expect(h.quantileUpperBound(0.95) == .infinity)
        #expect(h.sumSeconds == 101_267.5)
    }

    static func report(pending: Int, oldest: String?, dropped: Int64 = 0) -> SiteReport {
        SiteReport(
            agentVersion: "0.5.0", reportedAt: "2026-11-21T09:59:59.000Z",
            streams: pending > 0 ? [.init(stream: "vibration", pendingObjects: pending, pendingBytes: UInt64(pending) * 100, oldestCapturedAt: oldest)] : [],
            pendingObjects: pending, pendingBytes: UInt64(pending) * 100, oldestCapturedAt: oldest, spoolUsedBytes: UInt64(pending) * 100,
            spoolMaxBytes: 1000, spoolUsedObjects: pending, spoolMaxObjects: 10, droppedObjects: dropped, droppedBytes: dropped * 100,
            quarantinedObjects: 0, linkState: "up", lastError: nil, lastSuccessAt: "2026-11-21T09:59:58.000Z")
    }

    @Test("the site view passes the report through and derives ages, fullness and status")
    func view() throws {
        var s = SiteState(site: "plant-a", createdAt: "2026-11-01T00:00:00.000Z")
        s.lastSeen = "2026-11-21T09:59:50.000Z"
        s.report = Self.report(pending: 4, oldest: "2026-11-21T09:30:00.000Z")
        s.lag.add(2)
        s.lag.add(20)
        s.rejections = ["checksum_mismatch": 2, "too_large": 1]
        let v = SiteView(state: s, rules: rules, now: now, history: [])
        #expect(v.status == .lagging)
        #expect(v.pendingObjects == 4 && v.pendingBytes == 400)
        #expect(v.streams == s.report?.streams)
        #expect(v.oldestPendingSeconds == 1800)
        #expect(v.secondsSinceSeen == 10)
        #expect(v.spoolFullness == 0.4)
        #expect(v.rejectedUploads == 3)
        #expect(v.ingestLag.buckets.map(\.count) == [0, 1, 1, 2, 2, 2, 2, 2, 2, 2])
        #expect(v.ingestLag.buckets.last?.le == "+Inf")
        #expect(v.ingestLag.p50Seconds == 5 && v.ingestLag.p95Seconds == 60)
        let json = String(decoding: try FleetView.encode(FleetView(sites: [v], rules: rules, now: now)), as: UTF8.self)
        #expect(json.contains(#""summary":{"dropping":0,"healthy":0,"lagging":1,"offline":0}"#))
        #expect(json.contains(#""site":"plant-a""#) && json.contains(#""created_at":"2026-11-01T00:00:00.000Z""#))
        let never = SiteView(state: SiteState(site: "plant-b", createdAt: "x"), rules: rules, now: now)
        #expect(never.status == .offline && never.pendingObjects == nil && never.secondsSinceSeen == nil)
    }

    @Test("a heartbeat body is checked field by field")
    func validation() throws {
        #expect(try Self.report(pending: 1, oldest: "2026-11-21T09:30:00Z").validated().pendingObjects == 1)
        var r = Self.report(pending: 1, oldest: "yesterday")
        #expect(throws: DomainError.self) { try r.validated() }
        r = Self.report(pending: 1, oldest: nil)
        r.droppedObjects = -1
        #expect(throws: DomainError.self) { try r.validated() }
        r = Self.report(pending: 1, oldest: nil)
        r.streams[0].stream = "../etc"
        #expect(throws: DomainError.self) { try r.validated() }
        r = Self.report(pending: 0, oldest: nil)
        r.lastError = String(repeating: "e", count: 5000)
        #expect(try r.validated().lastError?.count == SiteReport.maxErrorCharacters + 1)
        let missing = Data(#"{"agent_version":"1"}"#.utf8)
        do {
            _ = try JSONDecoder().decode(SiteReport.self, from: missing)
            Issue.record("decoded an incomplete report")
        } catch let e as DecodingError {
            #expect(e.fieldDescription.hasPrefix("missing '"))
        }
    }
}
