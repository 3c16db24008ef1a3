#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The clock an edge service reads and waits on. Services never call `Date()` or `Task.sleep`
/// themselves: they take a `ServiceClock`, so a unit test drives a service loop by advancing a
/// manual clock (`ManualClock` in TributaryTestKit) instead of sleeping.
///
/// Wall time (not a monotonic clock) because what the services decide by it is wall time:
/// timestamps in the journal and reports, time-of-day bandwidth windows, objects' ages.
public protocol ServiceClock: Sendable {
    /// Seconds since 1970-01-01 UTC.
    func now() -> Double
    /// Suspends for `milliseconds`, or less when the task is cancelled (never throws).
    func sleep(milliseconds: Int) async
}

extension ServiceClock {
    /// `now()` as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: now()) }

    /// Suspends for `duration` (rounded down to whole milliseconds, at least 1), or less when the
    /// task is cancelled: a service's interval as configured.
    public func sleep(for duration: Duration) async {
        let (seconds, attoseconds) = duration.components
        let ms = seconds.multipliedReportingOverflow(by: 1000)
        let total = ms.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        await sleep(milliseconds: ms.overflow || total.overflow ? Int.max : max(1, Int(total.partialValue)))
    }
}

/// The real clock: the system's wall time and `Task.sleep`.
public struct SystemClock: ServiceClock {
    public init() {}
    public func now() -> Double { Date().timeIntervalSince1970 }
    public func sleep(milliseconds: Int) async {
        guard milliseconds > 0 else { return }
        try? await Task.sleep(for: .milliseconds(milliseconds))
    }
}
