import Testing
@testable import TributaryDelivery
import TributarySettings

@Suite struct BandwidthScheduleTests {
    @Test func windowsDecideAndWrapPastMidnight() throws {
        let s = try BandwidthSchedule(parsing: "08:00-18:00=50000, 22:00-06:00=0")
        #expect(s.rate(atMinute: 8 * 60, otherwise: 7) == 50000)
        #expect(s.rate(atMinute: 18 * 60 - 1, otherwise: 7) == 50000)
        #expect(s.rate(atMinute: 18 * 60, otherwise: 7) == 7)
        #expect(s.rate(atMinute: 23 * 60, otherwise: 7) == 0)
        #expect(s.rate(atMinute: 3 * 60, otherwise: 7) == 0)
        #expect(s.rate(atMinute: 6 * 60, otherwise: 7) == 7)
    }

    @Test(arguments: ["08:00-18:00", "8-18=5", "08:00-08:00=5", "25:00-01:00=5", "08:00-09:00=-1", "08:60-09:00=1"])
    func badWindowsAreRefused(_ spec: String) {
        #expect(throws: ConfigurationError.self) { try BandwidthSchedule(parsing: spec) }
    }
}
