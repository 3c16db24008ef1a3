import Testing
@testable import TributaryEdge

/// `HeartbeatSchedule`: every `interval`, after deliveries at most one every `minimumInterval`.
@Suite struct HeartbeatScheduleTests {
    @Test func aQuietScheduleBeatsEveryInterval() {
        var s = HeartbeatSchedule(intervalSeconds: 30, minimumIntervalSeconds: 5, lastBeat: 1000)
        #expect(!s.isDue(now: 1029.9))
        #expect(s.secondsUntilDue(now: 1010) == 20)
        #expect(s.isDue(now: 1030))
        s.beat(at: 1030)
        #expect(!s.isDue(now: 1059) && s.isDue(now: 1060))
    }

    @Test func theFirstDeliveryAfterAQuietSpellIsReportedAtOnce() {
        var s = HeartbeatSchedule(intervalSeconds: 30, minimumIntervalSeconds: 5, lastBeat: 1000)
        s.delivered()
        #expect(s.isDue(now: 1005), "5 s after the last beat: at once")
        s.beat(at: 1005)
        #expect(!s.deliveryPending)
        #expect(s.secondsUntilDue(now: 1005) == 30, "nothing pending: the next one an interval later")
    }

    @Test func aBurstOfDeliveriesIsCoalescedIntoOneBeatAMinimumIntervalAfterThePrevious() {
        var s = HeartbeatSchedule(intervalSeconds: 30, minimumIntervalSeconds: 5, lastBeat: 1000)
        s.delivered()
        s.beat(at: 1010)  // the burst's first delivery
        var beats = 0
        // Deliveries every 0.3 s for 12 s: one beat each 5 s, not one per delivery.
        var t = 1010.0
        while t < 1022 {
            t += 0.3
            s.delivered()
            if s.isDue(now: t) { s.beat(at: t); beats += 1 }
        }
        #expect(beats == 2, "at 1015.x and 1020.x")
        // The burst ended (last delivery at ~1022): the trailing beat is due at most 5 s after the previous.
        #expect(s.deliveryPending)
        let wait = s.secondsUntilDue(now: t)
        #expect(wait > 0 && wait <= 5)
        #expect(s.isDue(now: s.lastBeat + 5))
    }

    @Test func minimumIntervalZeroReportsEveryDeliveryAndItNeverExceedsTheInterval() {
        var s = HeartbeatSchedule(intervalSeconds: 30, minimumIntervalSeconds: 0, lastBeat: 1000)
        s.delivered()
        #expect(s.isDue(now: 1000))
        let capped = HeartbeatSchedule(intervalSeconds: 10, minimumIntervalSeconds: 60, lastBeat: 1000)
        #expect(capped.minimumInterval == 10)
    }

    @Test func aWallClockSteppedBackBeatsAndStartsOver() {
        var s = HeartbeatSchedule(intervalSeconds: 30, minimumIntervalSeconds: 5, lastBeat: 1000)
        #expect(s.isDue(now: 900))
        s.beat(at: 900)
        #expect(!s.isDue(now: 910) && s.isDue(now: 930))
    }
}
