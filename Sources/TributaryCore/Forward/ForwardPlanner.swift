import TributaryDelivery

/// The forwarder's decisions, as a pure state machine (no I/O, no clock of its own: the shell
/// passes `now` and a random `unit` in [0, 1)). Unit-tested in ForwardPlannerTests.
///
/// One upload is in hand at a time, in commit order; the cursor moves past it only when it was
/// delivered (the upstream's receipt named every arrival), skipped (the target is on its path:
/// sending it would close a loop, `CorePath.mustNotSend`) or set aside. The rules, one place each:
/// - The link to the target (`LinkState`) backs off on failures that blame the link (no answer,
///   5xx, busy, auth refused); such failures never count against the upload — an upstream that
///   is down for a day sets nothing aside, it only makes the lag grow.
/// - A failure that blames the upload (the upstream answered but did not take it, or this core
///   could not read it back from its own lake) is a strike against it; it waits its own backoff
///   (`LinkState.backoff` of its strikes) and the `maxStrikes`-th strike sets it aside, with the
///   last reason. The upstream's final word (`quarantined`, a 413 after the bytes) sets it aside at once.
/// - A transient failure of this core's own backends (catalog, lake unreachable) waits the base
///   backoff and counts nothing.
public struct ForwardPlanner: Sendable {
    public struct Limits: Sendable, Equatable {
        public var maxStrikes = 5
        public var baseSeconds = 1.0
        public var capSeconds = 60.0
        public var downAfter = 3
        public init() {}
    }

    public enum Decision: Sendable, Equatable {
        /// Build (or reuse) the upload's body and run a session.
        case send(ForwardItem)
        /// Move the cursor past it without sending: the target is on its path (or it has no arrivals).
        case skip(ForwardItem, reason: String)
        /// Move the cursor past it, recording the reason and counting it.
        case setAside(ForwardItem, reason: String)
        /// Nothing may be sent before `seconds` from now.
        case wait(seconds: Double)
        /// Caught up: wait for a commit.
        case idle
    }

    public enum Outcome: Sendable, Equatable {
        /// The receipt named every arrival.
        case delivered
        /// The upstream answered but did not take it; `final`: it never will as is.
        case refused(reason: String, final: Bool, retryAfter: Double?)
        /// No answer, 5xx, busy, auth: the link is to blame.
        case linkFailed(reason: String, retryAfter: Double?)
        /// This core could not read the upload back (a lake object missing or damaged).
        case unreadable(reason: String)
        /// This core's catalog or lake is unreachable for now.
        case unavailable(reason: String)
    }

    public let limits: Limits
    /// The target's core id once known (its answers carry it): uploads whose path holds it are skipped.
    public var targetCoreID: String?
    public private(set) var link: LinkState
    /// The upload in hand, its strikes, when it may be tried again and its last refusal.
    public private(set) var strikes: (seq: Int64, count: Int, until: Double, reason: String)?
    /// Nothing is attempted before this time (this core's backends were unavailable).
    private var pausedUntil: Double = 0

    public init(now: Double, limits: Limits = Limits(), targetCoreID: String? = nil) {
        self.limits = limits
        self.targetCoreID = targetCoreID
        link = LinkState(now: now, baseSeconds: limits.baseSeconds, capSeconds: limits.capSeconds, downAfter: limits.downAfter)
    }

    /// What to do with `next`, the first upload after the cursor (nil: caught up).
    public func decide(next: ForwardItem?, now: Double) -> Decision {
        if pausedUntil > now { return .wait(seconds: pausedUntil - now) }
        if let at = link.nextAttemptAt, at > now { return .wait(seconds: at - now) }
        guard let item = next else { return .idle }
        if item.arrivals.isEmpty { return .skip(item, reason: "no arrivals") }
        if let target = targetCoreID, CorePath.mustNotSend(item, to: target) {
            return .skip(item, reason: "core \(target) is already on its path")
        }
        if let s = strikes, s.seq == item.seq {
            if s.count >= limits.maxStrikes {
                return .setAside(item, reason: "not taken after \(s.count) attempts: \(s.reason)")
            }
            if s.until > now { return .wait(seconds: s.until - now) }
        }
        return .send(item)
    }

    /// Records how sending `item` ended; `decide` then says what comes next.
    /// - Returns: true when the item is done with (the cursor may move past it).
    @discardableResult
    public mutating func ended(_ item: ForwardItem, _ outcome: Outcome, now: Double, unit: Double) -> Bool {
        switch outcome {
        case .delivered:
            link.succeeded(now: now)
            strikes = nil
            return true
        case .refused(let reason, let final, let retryAfter):
            link.succeeded(now: now)  // the upstream answered
            strike(item, reason: reason, final: final, retryAfter: retryAfter, now: now, unit: unit)
        case .unreadable(let reason):
            strike(item, reason: reason, final: false, retryAfter: nil, now: now, unit: unit)
        case .linkFailed(let reason, let retryAfter):
            _ = link.failed(now: now, error: reason, retryAfter: retryAfter, unit: unit)
        case .unavailable:
            pausedUntil = now + limits.baseSeconds
        }
        return false
    }

    /// The item was moved past (skipped or set aside): forget its strikes.
    public mutating func passed(_ item: ForwardItem) {
        if strikes?.seq == item.seq { strikes = nil }
    }

    private mutating func strike(_ item: ForwardItem, reason: String, final: Bool, retryAfter: Double?, now: Double, unit: Double) {
        let count = final ? limits.maxStrikes : (strikes?.seq == item.seq ? (strikes?.count ?? 0) : 0) + 1
        let delay = LinkState.backoff(failures: count, baseSeconds: limits.baseSeconds, capSeconds: limits.capSeconds, retryAfter: retryAfter, unit: unit)
        strikes = (item.seq, count, final ? now : now + delay, reason)
    }
}
