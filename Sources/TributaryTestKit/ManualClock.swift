import Synchronization
import TributaryDelivery

/// A `ServiceClock` that moves only when the test says so (postgres-nio's `MockClock` shape): a
/// service loop under test parks in `sleep`, the test waits until it has (`sleeps(atLeast:)`),
/// then `advance`s the clock past the loop's timer and checks what the loop did — no real sleeping.
public final class ManualClock: ServiceClock {
    private struct State {
        var now: Double
        var sleepers: [UInt64: (deadline: Double, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextID: UInt64 = 0
        var started = 0
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

        mutating func dueWatchers() -> [CheckedContinuation<Void, Never>] {
            let due = watchers.filter { $0.count <= started }.map(\.continuation)
            watchers.removeAll { $0.count <= started }
            return due
        }
    }

    private let state: Mutex<State>

    /// `now`: seconds since 1970 (default 2026-01-01T00:00:00Z).
    public init(now: Double = 1_767_225_600) {
        state = Mutex(State(now: now))
    }

    public func now() -> Double { state.withLock { $0.now } }

    /// How many sleeps have begun since the clock was made (ended or not).
    public var sleepsStarted: Int { state.withLock { $0.started } }

    /// The sleeps still waiting for the clock.
    public var sleeping: Int { state.withLock { $0.sleepers.count } }

    public func sleep(milliseconds: Int) async {
        guard milliseconds > 0 else { return }
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let (cancelled, watchers) = state.withLock { s -> (Bool, [CheckedContinuation<Void, Never>]) in
                    s.started += 1
                    if !Task.isCancelled { s.sleepers[id] = (s.now + Double(milliseconds) / 1000, c) }
                    return (Task.isCancelled, s.dueWatchers())
                }
                if cancelled { c.resume() }
                for w in watchers { w.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume()
        }
    }

    /// Moves the clock forward and wakes every sleep whose time has come.
    public func advance(seconds: Double) {
        let due = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.now += seconds
            let ids = s.sleepers.filter { $0.value.deadline <= s.now }.map(\.key)
            return ids.compactMap { s.sleepers.removeValue(forKey: $0)?.continuation }
        }
        for c in due { c.resume() }
    }

    /// Returns once `count` sleeps have begun in total: the loop under test has parked again.
    public func sleeps(atLeast count: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.started >= count { return true }
                s.watchers.append((count, c))
                return false
            }
            if ready { c.resume() }
        }
    }
}
