import Glibc

/// Synchronous signal handling without handlers: the signals are blocked in the creating
/// thread (and so in every thread it starts afterwards), and `next()` takes them one at a time
/// with `sigwait`. Create it before starting any thread, e.g. first thing in `main`.
public struct SignalWaiter: Sendable {
    public let signals: [Int32]

    /// Blocks `signals` in the calling thread.
    public init(blocking signals: [Int32]) {
        self.signals = signals
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits for the next of `signals` and returns its number.
    public func next() -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }
}
