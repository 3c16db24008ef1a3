#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Per-site request fairness on this node: how many requests of a site are in progress, and the
/// token buckets of its creations and heartbeats. Bookkeeping only, under a mutex held for a few
/// instructions; the rules are `SiteLimits` and `TokenBucket`.
///
/// Memory is bounded by the number of sites that have authenticated (a site's entry is a few
/// dozen bytes); entries of sites with nothing in progress and full buckets are dropped.
public final class SiteGate: Sendable {
    struct SiteEntry {
        var inProgress = 0
        var creations: TokenBucket
        var heartbeats: TokenBucket
    }

    public enum Bucket: Sendable {
        case creation
        case heartbeat
    }

    let limits: SiteLimits
    private let state = Mutex<[String: SiteEntry]>([:])
    private let clock: @Sendable () -> Double

    public init(limits: SiteLimits, clock: @escaping @Sendable () -> Double = SiteGate.monotonicSeconds) {
        self.limits = limits
        self.clock = clock
    }

    /// Seconds on the monotonic clock.
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private func fresh(now: Double) -> SiteEntry {
        SiteEntry(
            creations: TokenBucket(rate: limits.creationsPerSecond, burst: limits.creationBurst, now: now),
            heartbeats: TokenBucket(rate: limits.heartbeatsPerSecond, burst: limits.heartbeatBurst, now: now))
    }

    /// Counts a request of `site` in progress; refuses it when the site already has
    /// `maxRequestsPerSite`. Every successful `enter` must be followed by one `leave`.
    public func enter(_ site: String) throws(LimitRefusal) {
        let now = clock()
        let refused: Bool = state.withLock { sites in
            var e = sites[site] ?? fresh(now: now)
            guard e.inProgress < limits.maxRequestsPerSite else { return true }
            e.inProgress += 1
            sites[site] = e
            return false
        }
        if refused {
            throw LimitRefusal(
                .tooManyRequests, "the site has \(limits.maxRequestsPerSite) requests in progress on this node", retryAfter: 1)
        }
    }

    public func leave(_ site: String) {
        state.withLock { sites in
            guard var e = sites[site] else { return }
            e.inProgress = max(0, e.inProgress - 1)
            if e.inProgress == 0 && e.creations.tokens >= e.creations.burst && e.heartbeats.tokens >= e.heartbeats.burst {
                sites[site] = nil
            } else {
                sites[site] = e
            }
        }
    }

    /// Takes a token of the site's `bucket`, or refuses with the time until one is there.
    public func take(_ bucket: Bucket, site: String) throws(LimitRefusal) {
        let now = clock()
        let wait: Double? = state.withLock { sites in
            var e = sites[site] ?? fresh(now: now)
            let w: Double?
            switch bucket {
            case .creation: w = e.creations.take(now: now)
            case .heartbeat: w = e.heartbeats.take(now: now)
            }
            sites[site] = e
            return w
        }
        if let wait {
            let what = bucket == .creation ? "upload creations" : "heartbeats"
            let rate = bucket == .creation ? limits.creationsPerSecond : limits.heartbeatsPerSecond
            throw LimitRefusal(.rateLimited, "too many \(what): at most \(rate) per second", retryAfter: Int(min(3600, wait.rounded(.up))))
        }
    }

    /// Runs `body` counted as one request of `site` in progress.
    public func withRequest<T>(_ site: String, _ body: () async throws -> T) async throws -> T {
        try enter(site)
        defer { leave(site) }
        return try await body()
    }
}
