import Testing
@testable import TributaryDelivery

@Suite struct CoreFailoverTests {
    let a = "https://a.example", b = "https://b.example:8443", c = "http://127.0.0.1:9000"

    func make(_ cores: [String]? = nil) -> CoreFailover {
        CoreFailover(cores: cores ?? [a, b], now: 0, failAfter: 3, windowSeconds: 10, probeSeconds: 60)
    }

    @Test func startsOnThePreferredCoreWithNoProbe() {
        var f = make()
        #expect(f.current == 0 && f.currentURL == a && f.nextProbeAt == nil)
        #expect(f.probeTargets(now: 1000).isEmpty && f.secondsUntilProbe(now: 5) == nil)
    }

    @Test func unreachableIsNoAnswerOrAProxySayingTheCoreIsGone() {
        #expect(CoreFailover.isUnreachable(status: nil))
        for s in [502, 503, 504] { #expect(CoreFailover.isUnreachable(status: s)) }
        for s in [400, 401, 403, 404, 409, 422, 429, 500, 507] { #expect(!CoreFailover.isUnreachable(status: s)) }
    }

    @Test func oneFailureOrAQuickBurstNeverMovesTheAgent() {
        var f = make()
        // Many failures in a row, but within the window: stay.
        for t in stride(from: 0.0, through: 9.5, by: 0.5) { #expect(f.unreachable(core: 0, now: 100 + t) == nil) }
        #expect(f.current == 0 && f.unreachableRun == 20 && f.runStartedAt == 100)
        // A single failure long after the last answer: the window counts from the first of the run.
        var g = make()
        #expect(g.unreachable(core: 0, now: 500) == nil)
        #expect(g.unreachable(core: 0, now: 520) == nil)  // only 2 in a row, though 20 s apart
        #expect(g.current == 0)
    }

    @Test func failsOverAfterEnoughFailuresOverTheWindow() {
        var f = make()
        #expect(f.unreachable(core: 0, now: 100) == nil)
        #expect(f.unreachable(core: 0, now: 104) == nil)
        #expect(f.unreachable(core: 0, now: 109.9) == nil)  // 3 in a row, 9.9 s: not yet
        let s = f.unreachable(core: 0, now: 110)
        #expect(s == CoreFailover.Switch(from: 0, to: 1, reason: .unreachable))
        #expect(f.current == 1 && f.currentURL == b && f.since == 110 && f.failovers == 1 && f.unreachableRun == 0)
        #expect(f.nextProbeAt == 170)
    }

    @Test func anAnswerEndsTheRun() {
        var f = make()
        _ = f.unreachable(core: 0, now: 0)
        _ = f.unreachable(core: 0, now: 5)
        f.answered(core: 0)  // e.g. a 409 or a 500: the core is there
        #expect(f.unreachableRun == 0 && f.runStartedAt == nil)
        #expect(f.unreachable(core: 0, now: 11) == nil)
        #expect(f.unreachable(core: 0, now: 12) == nil)
        #expect(f.unreachable(core: 0, now: 20) == nil)  // 3 in a row but only 9 s since the first
        #expect(f.unreachable(core: 0, now: 21) != nil)
    }

    @Test func outcomesFromACoreThatIsNoLongerCurrentAreIgnored() {
        var f = make()
        for t in [0.0, 5, 10] { _ = f.unreachable(core: 0, now: t) }
        #expect(f.current == 1)
        // A lane's request to A was in flight across the switch: its failure does not count against B.
        #expect(f.unreachable(core: 0, now: 11) == nil)
        #expect(f.unreachableRun == 0 && f.current == 1)
        // Nor does a late answer from A end B's run.
        _ = f.unreachable(core: 1, now: 12)
        f.answered(core: 0)
        #expect(f.unreachableRun == 1)
    }

    @Test func withEveryCoreDownItCyclesThroughTheList() {
        var f = make([a, b, c])
        var seen: [Int] = [f.current]
        var t = 0.0
        for _ in 0..<4 {
            var s: CoreFailover.Switch?
            while s == nil {
                s = f.unreachable(core: f.current, now: t)
                t += 4
            }
            seen.append(f.current)
        }
        #expect(seen == [0, 1, 2, 0, 1])
        #expect(f.failovers == 4)
        // Wrapped back to the preferred core: no probing.
        _ = f.unreachable(core: 1, now: t)
        #expect(f.current == 1)
    }

    @Test func aSingleCoreNeverSwitches() {
        var f = make([a])
        for t in stride(from: 0.0, to: 1000, by: 10) { #expect(f.unreachable(core: 0, now: t) == nil) }
        #expect(f.current == 0)
    }

    @Test func returnsToThePreferredCoreWhenAProbeFindsItAnswering() {
        var f = make()
        for t in [0.0, 5, 10] { _ = f.unreachable(core: 0, now: t) }
        #expect(f.current == 1 && f.nextProbeAt == 70)
        #expect(f.secondsUntilProbe(now: 40) == 30)
        #expect(f.probeTargets(now: 69).isEmpty)
        #expect(f.probeTargets(now: 70) == [0])
        #expect(f.nextProbeAt == 130)  // the next round is scheduled when this one is handed out
        #expect(f.probeTargets(now: 71).isEmpty)
        #expect(f.probed(core: 0, reachable: false, now: 71) == nil)
        #expect(f.current == 1)
        #expect(f.probeTargets(now: 130) == [0])
        #expect(f.probed(core: 0, reachable: true, now: 131) == CoreFailover.Switch(from: 1, to: 0, reason: .preferred))
        #expect(f.current == 0 && f.returns == 1 && f.nextProbeAt == nil && f.since == 131)
        // A probe result that comes late (or for a less preferred core) changes nothing.
        #expect(f.probed(core: 1, reachable: true, now: 132) == nil)
        #expect(f.probed(core: 0, reachable: true, now: 132) == nil)
    }

    @Test func probesEveryMorePreferredCoreInOrderAndTakesTheFirstThatAnswers() {
        var f = make([a, b, c])
        for t in [0.0, 5, 10] { _ = f.unreachable(core: 0, now: t) }
        for t in [20.0, 25, 30] { _ = f.unreachable(core: 1, now: t) }
        #expect(f.current == 2 && f.nextProbeAt == 90)
        #expect(f.probeTargets(now: 90) == [0, 1])
        #expect(f.probed(core: 0, reachable: false, now: 90) == nil)
        #expect(f.probed(core: 1, reachable: true, now: 91) == CoreFailover.Switch(from: 2, to: 1, reason: .preferred))
        // Still not on the preferred one: keep probing it.
        #expect(f.current == 1 && f.nextProbeAt == 151)
        #expect(f.probeTargets(now: 151) == [0])
    }

    @Test func anUploadURLBelongsToTheCoreOfItsOrigin() {
        var f = make([a, b, c])
        #expect(f.isOnCurrentCore("https://a.example/v1/uploads/u1"))
        #expect(f.isOnCurrentCore("https://A.example:443/v1/uploads/u1"))
        #expect(!f.isOnCurrentCore("https://b.example:8443/v1/uploads/u1"))
        #expect(!f.isOnCurrentCore("http://a.example/v1/uploads/u1"))  // another scheme is another origin
        #expect(!f.isOnCurrentCore("/v1/uploads/u1"))  // journaled URLs are absolute; anything else is not trusted
        for t in [0.0, 5, 10] { _ = f.unreachable(core: 0, now: t) }
        #expect(f.isOnCurrentCore("https://b.example:8443/v1/uploads/u1"))
        #expect(!f.isOnCurrentCore("https://a.example/v1/uploads/u1"))
    }
}
