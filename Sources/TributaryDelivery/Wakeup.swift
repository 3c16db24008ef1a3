import Synchronization

/// A nudge between services ("new objects accepted", "a batch is ready"): the receiver's wait
/// ends early. Signals coalesce: any number of signals before a wait end one wait.
///
/// The waiter is suspended (a continuation), not polling: between a signal and its timer, an idle
/// service costs no wake-ups at all (edge/README.md, "Idle cost").
public final class Wakeup: Sendable {
    private struct State {
        var signalled = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Wakes the waiter now, or the next wait if none is waiting.
    public func signal() {
        let resumed = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard !s.waiters.isEmpty else {
                s.signalled = true
                return []
            }
            let all = Array(s.waiters.values)
            s.waiters = [:]
            return all
        }
        for c in resumed { c.resume() }
    }

    /// Whether a signal arrived since the last call (or the last wait that it ended).
    public func consume() -> Bool {
        state.withLock { s in
            let was = s.signalled
            s.signalled = false
            return was
        }
    }

    /// Suspends up to `milliseconds` of `clock`, ending early on a signal (which it consumes) or
    /// cancellation.
    public func wait(milliseconds: Int, clock: any ServiceClock = SystemClock()) async {
        _ = await signalled(within: milliseconds, clock: clock)
    }

    /// `wait`, answering whether a signal ended it (or was pending): a receiver that acts on the
    /// signal itself ("something was delivered") must not lose it to the wait that consumed it.
    public func signalled(within milliseconds: Int, clock: any ServiceClock = SystemClock()) async -> Bool {
        if consume() { return true }
        guard milliseconds > 0, !Task.isCancelled else { return false }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await clock.sleep(milliseconds: milliseconds)
                return false
            }
            group.addTask {
                await self.signalled()
                return !Task.isCancelled
            }
            let signalled = await group.next() ?? false
            group.cancelAll()
            return signalled
        }
    }

    /// Returns at the next signal (consuming it) or when the task is cancelled.
    private func signalled() async {
        let id = state.withLock { s -> UInt64 in
            s.nextID &+= 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.signalled || Task.isCancelled {
                        s.signalled = false
                        return true
                    }
                    s.waiters[id] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { $0.waiters.removeValue(forKey: id) }
            c?.resume()
        }
    }
}
