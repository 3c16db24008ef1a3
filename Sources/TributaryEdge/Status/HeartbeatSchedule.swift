/// When the next heartbeat is due (`ReportService`). Pure: times are the service clock's seconds.
///
/// A heartbeat goes every `interval` (`heartbeat_seconds`, 30), and after a delivery (the core
/// should see the new backlog) — but at most one every `minimumInterval`
/// (`heartbeat_min_interval_seconds`, 5), so a trickle of small uploads does not pay a heartbeat
/// request each (docs/PERFORMANCE.md, "Wire bytes"):
///
///     due  ⇔  now − lastBeat ≥ interval
///          ∨  (a delivery since lastBeat  ∧  now − lastBeat ≥ minimumInterval)
///          ∨  now < lastBeat                       (the wall clock stepped back: beat and start over)
///
/// So the first delivery after a quiet `minimumInterval` is reported at once; the deliveries of a
/// burst that follow are coalesced into one beat `minimumInterval` after the previous one, which
/// reports the backlog as it is then — at most `minimumInterval` after the burst's last delivery.
/// `minimumInterval` 0 reports every delivery at once (the behaviour before); it never exceeds
/// `interval`.
struct HeartbeatSchedule: Sendable, Equatable {
    let interval: Double
    let minimumInterval: Double
    /// When the last heartbeat was sent (or, at start, from when the first one is counted).
    private(set) var lastBeat: Double
    /// A delivery happened since `lastBeat` that no heartbeat has reported yet.
    private(set) var deliveryPending = false

    init(intervalSeconds: Int, minimumIntervalSeconds: Int, lastBeat: Double) {
        interval = Double(max(1, intervalSeconds))
        minimumInterval = Double(min(max(0, minimumIntervalSeconds), max(1, intervalSeconds)))
        self.lastBeat = lastBeat
    }

    /// An upload was delivered: the backlog changed.
    mutating func delivered() { deliveryPending = true }

    func isDue(now: Double) -> Bool {
        let since = now - lastBeat
        return since < 0 || since >= interval || (deliveryPending && since >= minimumInterval)
    }

    /// A heartbeat is sent now (whatever its outcome: a failed one is not retried before the next due time).
    mutating func beat(at now: Double) {
        lastBeat = now
        deliveryPending = false
    }

    /// Seconds from `now` until the next heartbeat is due (0 when due).
    func secondsUntilDue(now: Double) -> Double {
        if isDue(now: now) { return 0 }
        return lastBeat + (deliveryPending ? minimumInterval : interval) - now
    }
}
