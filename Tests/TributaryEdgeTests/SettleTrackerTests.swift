import Testing
@testable import TributaryEdge

/// Mutating calls cannot sit inside `#expect` (the macro captures its operands immutably).
private func observe(_ t: inout SettleTracker, _ path: String, _ o: SettleTracker.Observation, now: Double) -> Bool {
    t.observe(path, o, now: now)
}

@Suite struct SettleTrackerTests {
    let a = SettleTracker.Observation(size: 10, mtimeNanoseconds: 1, inode: 7)
    let b = SettleTracker.Observation(size: 20, mtimeNanoseconds: 2, inode: 7)

    @Test func aFileIsCompleteOnlyAfterItStoppedChangingForTheSettleTime() {
        var t = SettleTracker(settleSeconds: 2)
        #expect(!observe(&t, "f", a, now: 0))
        #expect(!observe(&t, "f", a, now: 1.9))
        #expect(!observe(&t, "f", b, now: 2.5))  // it grew: the clock restarts
        #expect(!observe(&t, "f", b, now: 4.4))
        #expect(observe(&t, "f", b, now: 4.5))
    }

    @Test func aFileMovedInIsCompleteAtOnce() {
        var t = SettleTracker(settleSeconds: 60)
        t.noteMovedIn("f")
        #expect(observe(&t, "f", a, now: 0))
    }

    @Test func aFileMovedInIsCompleteAtOnceOnlyWhileItIsAsItWasMovedIn() {
        var t = SettleTracker(settleSeconds: 2)
        t.noteMovedIn("f")
        #expect(observe(&t, "f", a, now: 0))
        #expect(observe(&t, "f", a, now: 0.1), "not yet taken (a full spool): still complete")
        // Written to after the rename (not the atomic writer's convention): the settle rule again.
        #expect(!observe(&t, "f", b, now: 0.2))
        #expect(!observe(&t, "f", b, now: 2.1))
        #expect(observe(&t, "f", b, now: 2.2))
    }

    @Test func aRenameSeenForOnePathSettlesNoOtherAndAFileWrittenInPlaceStillWaits() {
        var t = SettleTracker(settleSeconds: 2)
        t.noteMovedIn("moved")
        #expect(!observe(&t, "written", a, now: 0))
        #expect(observe(&t, "moved", a, now: 0))
        #expect(!observe(&t, "written", a, now: 1.9))
        #expect(observe(&t, "written", a, now: 2))
    }

    @Test func aRenameOntoAPathAlreadySeenStartsTheSettleClockInsteadOfTrustingIt() {
        // The path was seen being written in place before the rename event arrived: the observation
        // in hand may be of either file, so it is not taken at once.
        var t = SettleTracker(settleSeconds: 2)
        #expect(!observe(&t, "f", a, now: 0))
        t.noteMovedIn("f")
        #expect(!observe(&t, "f", b, now: 0.5))
        #expect(observe(&t, "f", b, now: 2.5))
    }

    @Test func forgettingRestartsTheClock() {
        var t = SettleTracker(settleSeconds: 1)
        _ = t.observe("f", a, now: 0)
        t.forget("f")
        #expect(!observe(&t, "f", a, now: 5))
        t.forget("f")
        #expect(!observe(&t, "f", a, now: 10))
        #expect(observe(&t, "f", a, now: 11))
    }

    @Test func theNextScanWorthMakingIsWhenTheEarliestWaitingFileCanSettle() {
        var t = SettleTracker(settleSeconds: 2)
        #expect(t.nextSettle(after: 0) == nil, "nothing seen: nothing to wait for")
        _ = t.observe("f", a, now: 0)
        _ = t.observe("g", a, now: 1)
        #expect(t.nextSettle(after: 1) == 2)
        #expect(observe(&t, "f", a, now: 2))
        // f is complete (taken or refused): only g is waited for, then nothing.
        #expect(t.nextSettle(after: 2) == 3)
        #expect(observe(&t, "g", a, now: 3))
        #expect(t.nextSettle(after: 3) == nil)
        t.noteMovedIn("h")
        _ = t.observe("h", a, now: 3)
        #expect(t.nextSettle(after: 3) == nil, "a file renamed in is complete at once")
    }

    @Test func anIdleInboxWatchedByInotifyIsRescannedOnlyByTheSafetyTimer() {
        let safety = InboxWatcher.safetyRescanMilliseconds
        #expect(safety >= 60_000)
        #expect(InboxWatcher.rescanDelay(now: 0, settles: nil, watchesAll: true, retrySoon: false, pollMilliseconds: 1000) == safety)
        // A file waiting to settle: exactly when it can be complete (sooner than poll_ms, too).
        #expect(InboxWatcher.rescanDelay(now: 10, settles: 12.0005, watchesAll: true, retrySoon: false, pollMilliseconds: 1000) == 2001)
        #expect(InboxWatcher.rescanDelay(now: 10, settles: 11.5, watchesAll: true, retrySoon: false, pollMilliseconds: 1000) == 1500)
        #expect(InboxWatcher.rescanDelay(now: 10, settles: 10.2, watchesAll: false, retrySoon: false, pollMilliseconds: 1000) == 200)
        #expect(InboxWatcher.rescanDelay(now: 10, settles: 10, watchesAll: true, retrySoon: false, pollMilliseconds: 1000) == 1, "never a zero wait")
        // No inotify, a directory unwatched or events lost, or something to retry: poll_ms.
        #expect(InboxWatcher.rescanDelay(now: 0, settles: nil, watchesAll: false, retrySoon: false, pollMilliseconds: 1000) == 1000)
        #expect(InboxWatcher.rescanDelay(now: 0, settles: nil, watchesAll: true, retrySoon: true, pollMilliseconds: 700) == 700)
    }
}
