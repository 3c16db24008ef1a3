import Testing
@testable import TributaryEdge

private func observe(_ t: inout SettleTracker, _ path: String, _ o: SettleTracker.Observation, now: Double) -> Bool {
    t.observe(path, o, now: now)
}

/// The tracker's memory is bounded whatever the inbox holds, and a scan cycle forgets what it
/// did not meet.
@Suite struct SettleTrackerBoundTests {
    let a = SettleTracker.Observation(size: 10, mtimeNanoseconds: 1, inode: 7)

    @Test func aFullTrackerObservesNoNewFileUntilOneIsForgotten() {
        var t = SettleTracker(settleSeconds: 1, capacity: 2)
        #expect(!observe(&t, "f", a, now: 0))
        #expect(!observe(&t, "g", a, now: 0))
        #expect(!observe(&t, "h", a, now: 0))
        #expect(t.count == 2)
        // h was not recorded: a second look a settle time later is its first.
        #expect(!observe(&t, "h", a, now: 5))
        #expect(observe(&t, "f", a, now: 5), "files already tracked go on settling")
        t.forget("f")  // taken
        #expect(!observe(&t, "h", a, now: 6))
        #expect(observe(&t, "h", a, now: 7))
        #expect(t.count == 2)
    }

    @Test func renamesRememberedAreBoundedAndOneNotRememberedOnlyCostsTheSettleTime() {
        var t = SettleTracker(settleSeconds: 2, capacity: 1)
        t.noteMovedIn("m1")
        t.noteMovedIn("m2")  // beyond capacity: not remembered
        #expect(observe(&t, "m1", a, now: 0))
        t.forget("m1")
        #expect(!observe(&t, "m2", a, now: 0))
        #expect(observe(&t, "m2", a, now: 2))
    }

    @Test func aCycleForgetsWhatItDidNotMeetAndKeepsWhatItMet() {
        var t = SettleTracker(settleSeconds: 2)
        #expect(!observe(&t, "stays", a, now: 0))
        #expect(!observe(&t, "goes", a, now: 0))
        t.endCycle()
        #expect(t.count == 2, "both met in the first cycle")
        #expect(!observe(&t, "stays", a, now: 1))
        t.endCycle()
        #expect(t.count == 1, "'goes' was not met in the second cycle")
        #expect(observe(&t, "stays", a, now: 2), "the settle clock of a file met every cycle runs on")
        // A file that comes back starts its clock again.
        #expect(!observe(&t, "goes", a, now: 2))
    }

    @Test func aRenameReportedDuringACycleSurvivesItsEndUntilTheNextCycleCanMeetTheFile() {
        var t = SettleTracker(settleSeconds: 60)
        t.noteMovedIn("late")  // the cursor was past its place: this cycle does not meet it
        t.endCycle()
        #expect(observe(&t, "late", a, now: 0), "met in the next cycle: still taken at once")
        t.forget("late")
        t.noteMovedIn("gone")  // renamed in, then away before any cycle met it
        t.endCycle()
        t.endCycle()
        #expect(!observe(&t, "gone", a, now: 0), "forgotten after a whole cycle without it")
    }
}
