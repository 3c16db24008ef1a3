/// The link to the core as the uploader sees it. Pure: the uploader feeds it outcomes and the
/// time, and it answers how long to wait.
///
/// States: `connecting` (no answer yet since start), `up` (the last exchange succeeded),
/// `backing-off` (the last 1…`downAfter`−1 exchanges failed), `down` (`downAfter` or more in a row).
///
/// Backoff after the n-th consecutive failure (n ≥ 1), "full jitter":
///
///     delay = random(0 … min(cap, base · 2^(n−1)))
///
/// and never less than the core's `Retry-After`, when it sent one (still capped at `cap`).
public struct LinkState: Sendable, Equatable {
    public enum State: String, Sendable, Codable {
        case connecting, up, down
        case backingOff = "backing-off"
    }

    public private(set) var state: State = .connecting
    public private(set) var since: Double
    public private(set) var consecutiveFailures = 0
    public private(set) var lastSuccessAt: Double?
    public private(set) var lastError: String?
    public private(set) var lastErrorAt: Double?
    public private(set) var nextAttemptAt: Double?

    public let baseSeconds: Double
    public let capSeconds: Double
    public let downAfter: Int

    public init(now: Double, baseSeconds: Double, capSeconds: Double, downAfter: Int) {
        since = now
        self.baseSeconds = baseSeconds
        self.capSeconds = capSeconds
        self.downAfter = downAfter
    }

    public mutating func succeeded(now: Double) {
        if state != .up { since = now }
        state = .up
        consecutiveFailures = 0
        lastSuccessAt = now
        nextAttemptAt = nil
    }

    /// Records a failure; returns the delay before the next attempt. `unit` is a random number in
    /// [0, 1) (injected for tests).
    public mutating func failed(now: Double, error: String, retryAfter: Double? = nil, unit: Double) -> Double {
        consecutiveFailures += 1
        lastError = error
        lastErrorAt = now
        let newState: State = consecutiveFailures >= downAfter ? .down : .backingOff
        if newState != state { since = now }
        state = newState
        let delay = Self.backoff(failures: consecutiveFailures, baseSeconds: baseSeconds, capSeconds: capSeconds, retryAfter: retryAfter, unit: unit)
        nextAttemptAt = now + delay
        return delay
    }

    /// The delay after the n-th consecutive failure (the formula above); also used for a single
    /// batch that waits while its lane goes on.
    public static func backoff(failures n: Int, baseSeconds: Double, capSeconds: Double, retryAfter: Double?, unit: Double) -> Double {
        let exponent = Double(min(max(n, 1) - 1, 60))
        let ceiling = min(capSeconds, baseSeconds * pow2(exponent))
        var delay = unit * ceiling
        if let retryAfter { delay = max(delay, min(retryAfter, capSeconds)) }
        return delay
    }

    private static func pow2(_ e: Double) -> Double {
        var r = 1.0
        var i = 0.0
        while i < e && r < 1e12 {
            r *= 2
            i += 1
        }
        return r
    }
}
