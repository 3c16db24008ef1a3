import Testing
import TributaryDelivery

/// `Wakeup` suspends instead of polling: these waits are for ten minutes, so a signal that did
/// not end them would hang the test, not pass it.
@Suite struct WakeupTests {
    @Test func aSignalBeforeTheWaitEndsItAndIsConsumed() async {
        let w = Wakeup()
        w.signal()
        w.signal()  // coalesces
        await w.wait(milliseconds: 600_000)
        #expect(!w.consume())
    }

    @Test func aSignalDuringTheWaitEndsIt() async {
        let w = Wakeup()
        async let waited: Void = w.wait(milliseconds: 600_000)
        // Signal until the waiter is woken: a signal that lands before it suspends is kept for it.
        w.signal()
        await waited
        _ = w.consume()
        #expect(!w.consume())
    }

    @Test func cancellationEndsTheWait() async {
        let w = Wakeup()
        let t = Task { await w.wait(milliseconds: 600_000) }
        t.cancel()
        await t.value
        #expect(!w.consume())
    }

    @Test func aShortWaitEndsByItsTimer() async {
        let w = Wakeup()
        await w.wait(milliseconds: 1)
        #expect(!w.consume())
    }
}
