import Foundation
import Testing
import TributaryProtocol
@testable import TributaryEdge

@Suite struct BatchPlannerTests {
    var config: EdgeConfiguration {
        var c = EdgeConfiguration()
        c.segmentMaxBytes = 1000
        c.segmentMaxObjects = 4
        c.segmentMaxAgeMilliseconds = 5000
        c.largeObjectBytes = 800
        c.incompressibleAloneBytes = 300
        return c
    }

    func obj(_ id: Int64, _ size: UInt64, name: String? = nil, compressible: Bool = true, sha: String? = nil, accepted: String = "2026-11-21T10:00:00.000Z") -> SpoolObject {
        SpoolObject(id: id, stream: "s", name: name ?? "o\(id)", size: size, sha256: sha ?? String(repeating: String(id % 10), count: 64),
                    capturedAt: "2026-11-21T09:00:00.000Z", acceptedAt: accepted, priority: 0, file: "objects/\(id)", compressible: compressible, batchID: nil)
    }

    @Test func smallObjectsArePackedUntilSizeOrCount() {
        let p = BatchPlanner(configuration: config)
        guard case .segment(let e) = p.plan([obj(1, 400), obj(2, 400), obj(3, 400)], held: []) else { Issue.record("no segment"); return }
        #expect(e.map(\.object.id) == [1, 2])
        guard case .segment(let f) = p.plan((1...6).map { obj($0, 1) }, held: []) else { Issue.record("no segment"); return }
        #expect(f.count == 4)
    }

    @Test func largeAndIncompressibleObjectsGoAloneHeldOnesAsRefs() {
        let p = BatchPlanner(configuration: config)
        #expect(p.plan([obj(1, 900), obj(2, 1)], held: []) == .single(obj(1, 900), compress: true))
        #expect(p.plan([obj(1, 400, compressible: false)], held: []) == .single(obj(1, 400, compressible: false), compress: false))
        // Held by the core: a reference in a segment, whatever its size, no bytes counted.
        guard case .segment(let e) = p.plan([obj(1, 5000), obj(2, 900), obj(3, 10)], held: [obj(1, 5000).sha256]) else {
            Issue.record("no segment"); return
        }
        #expect(e.map(\.object.id) == [1, 3] && e.map(\.ref) == [true, false])
    }

    @Test func sameNameNeverSharesASegment() {
        let p = BatchPlanner(configuration: config)
        guard case .segment(let e) = p.plan([obj(1, 1, name: "x"), obj(2, 1, name: "x"), obj(3, 1)], held: []) else { Issue.record("no segment"); return }
        #expect(e.map(\.object.id) == [1, 3])
    }

    @Test func dueBySizeCountOrAge() throws {
        let p = BatchPlanner(configuration: config)
        let now = try Timestamp.parse("2026-11-21T10:00:02Z")
        let d = p.due([obj(1, 10)], now: now)
        #expect(!d.due && abs(d.waitSeconds - 3) < 0.01)
        #expect(p.due([obj(1, 10)], now: now.addingTimeInterval(3)).due)
        #expect(p.due([obj(1, 600), obj(2, 600)], now: now).due)
        #expect(p.due((1...4).map { obj($0, 1) }, now: now).due)
        #expect(p.due([obj(1, 900)], now: now).due)
        #expect(!p.due([], now: now).due)
    }

    @Test func anIdleFreshLaneClosesTheSegmentOnceTheBurstEnds() throws {
        var c = config
        c.segmentIdleLingerMilliseconds = 100
        let p = BatchPlanner(configuration: c)
        let burst = [obj(1, 10, accepted: "2026-11-21T10:00:00.000Z"), obj(2, 10, accepted: "2026-11-21T10:00:00.050Z")]
        // 40 ms after the newest object: still arriving, wait the rest of the linger.
        let early = try Timestamp.parse("2026-11-21T10:00:00.090Z")
        let d = p.due(burst, now: early, freshIdle: true)
        #expect(!d.due && abs(d.waitSeconds - 0.06) < 0.005)
        // The burst ended 100 ms ago: due now, long before the 5 s age.
        #expect(p.due(burst, now: try Timestamp.parse("2026-11-21T10:00:00.150Z"), freshIdle: true).due)
        // A busy lane keeps batching by size and age (Nagle).
        let busy = p.due(burst, now: try Timestamp.parse("2026-11-21T10:00:00.150Z"), freshIdle: false)
        #expect(!busy.due && busy.waitSeconds > 4.8)
        // 0 turns the rule off.
        c.segmentIdleLingerMilliseconds = 0
        #expect(!BatchPlanner(configuration: c).due(burst, now: try Timestamp.parse("2026-11-21T10:00:01Z"), freshIdle: true).due)
    }

    @Test func aFullLaneNeverStopsTheOther() throws {
        let p = BatchPlanner(configuration: config)
        let now = try Timestamp.parse("2026-11-21T10:00:02Z")
        let candidates = [obj(1, 900), obj(2, 10), obj(3, 10)]
        // Bulk lane full: the small objects behind the big one are packed (when due).
        guard case .segment(let e) = p.plan(candidates, held: [], lanes: [.fresh]) else { Issue.record("no segment"); return }
        #expect(e.map(\.object.id) == [2, 3])
        // Fresh lane full: the big one goes, even behind small ones.
        #expect(p.plan([obj(2, 10), obj(1, 900)], held: [], lanes: [.bulk]) == .single(obj(1, 900), compress: true))
        #expect(p.plan([obj(2, 10)], held: [], lanes: [.bulk]) == nil)
        // Due: the bulk lane at once, the fresh one by the segment's own age rule.
        #expect(p.dueLanes(candidates, now: now, lanes: [.fresh, .bulk]).lanes == [.bulk])
        #expect(p.dueLanes(candidates, now: now.addingTimeInterval(3), lanes: [.fresh, .bulk]).lanes == [.fresh, .bulk])
        #expect(p.dueLanes(candidates, now: now.addingTimeInterval(3), lanes: [.fresh]).lanes == [.fresh])
        #expect(p.dueLanes([obj(2, 10)], now: now, lanes: [.bulk]).lanes.isEmpty)
    }
}
