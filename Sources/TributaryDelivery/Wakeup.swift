import Synchronization

/// A nudge between services ("new objects accepted", "a batch is ready"): the receiver's
/// polling wait ends early. Signals coalesce.
public final class Wakeup: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func signal() { flag.store(true, ordering: .releasing) }

    /// Whether a signal arrived since the last call.
    public func consume() -> Bool { flag.exchange(false, ordering: .acquiringAndReleasing) }

    /// Sleeps up to `milliseconds`, waking early on a signal or cancellation.
    public func wait(milliseconds: Int) async {
        var left = milliseconds
        while left > 0 && !Task.isCancelled {
            if consume() { return }
            let step = min(left, 50)
            try? await Task.sleep(for: .milliseconds(step))
            left -= step
        }
    }
}
