import Foundation
import Logging
import Testing
import TributaryProtocol
import TributaryTestKit
@testable import TributaryCore

/// The refusal counter on a `ManualClock`: refusals are summed in memory and written once per
/// interval per (site, reason), stamped with the clock's time — no real sleeping.
@Suite("Refusal counter")
struct RefusalCounterTests {
    @Test("refusals are written once per interval, summed, at the injected clock's time")
    func flushesOncePerIntervalByTheInjectedClock() async throws {
        let catalog = MemoryCatalog()
        try await catalog.addSite("plant-a", tokenSHA256: nil, createdAt: "2026-01-01T00:00:00Z")
        let clock = ManualClock()
        let counter = RefusalCounter(catalog: catalog, metrics: nil, interval: .seconds(2), logger: Logger(label: "test"), clock: clock)
        let task = Task { try await counter.run() }
        defer { task.cancel() }
        await clock.sleeps(atLeast: 1)

        for _ in 0..<3 { counter.count(site: "plant-a", reason: "site_busy") }
        #expect(try await catalog.siteState("plant-a")?.rejections["site_busy"] == nil, "written before the interval passed")

        clock.advance(seconds: 2)
        await clock.sleeps(atLeast: 2)  // the flush ran and the loop waits again
        let state = try #require(try await catalog.siteState("plant-a"))
        #expect(state.rejections["site_busy"] == 3)
        #expect(state.lastSeen == Timestamp.format(clock.date))

        counter.count(site: "plant-a", reason: "site_busy")
        clock.advance(seconds: 2)
        await clock.sleeps(atLeast: 3)
        #expect(try await catalog.siteState("plant-a")?.rejections["site_busy"] == 4)
    }
}
