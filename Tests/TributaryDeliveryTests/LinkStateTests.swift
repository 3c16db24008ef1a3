import Testing
@testable import TributaryDelivery

@Suite struct LinkStateTests {
    func make() -> LinkState { LinkState(now: 0, baseSeconds: 0.5, capSeconds: 60, downAfter: 3) }

    @Test func startsConnectingAndGoesUpOnSuccess() {
        var l = make()
        #expect(l.state == .connecting)
        l.succeeded(now: 1)
        #expect(l.state == .up && l.lastSuccessAt == 1 && l.consecutiveFailures == 0)
    }

    @Test func backoffIsFullJitterOverADoublingCeilingWithACap() {
        var l = make()
        // unit = 1 gives the ceiling itself: 0.5, 1, 2, 4, … capped at 60.
        let ceilings = (1...10).map { i in l.failed(now: Double(i), error: "e", unit: 0.999_999) }
        let expected = [0.5, 1, 2, 4, 8, 16, 32, 60, 60, 60]
        for (c, e) in zip(ceilings, expected) { #expect(abs(c - e) < 0.001) }
        #expect(l.failed(now: 11, error: "e", unit: 0) == 0)
        #expect(abs(l.failed(now: 12, error: "e", unit: 0.5) - 30) < 0.001)
    }

    @Test func backingOffThenDownThenUp() {
        var l = make()
        _ = l.failed(now: 1, error: "connect refused", unit: 0.5)
        #expect(l.state == .backingOff && l.since == 1)
        _ = l.failed(now: 2, error: "connect refused", unit: 0.5)
        #expect(l.state == .backingOff && l.since == 1)
        _ = l.failed(now: 3, error: "timeout", unit: 0.5)
        #expect(l.state == .down && l.since == 3 && l.lastError == "timeout" && l.lastErrorAt == 3)
        l.succeeded(now: 9)
        #expect(l.state == .up && l.since == 9 && l.nextAttemptAt == nil)
    }

    @Test func retryAfterIsANominimumStillCapped() {
        var l = make()
        #expect(l.failed(now: 0, error: "503", retryAfter: 5, unit: 0) == 5)
        #expect(l.failed(now: 0, error: "503", retryAfter: 500, unit: 0) == 60)
        #expect(l.nextAttemptAt == 60)
    }
}
