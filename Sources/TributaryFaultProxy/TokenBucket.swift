/// A token bucket: `rate` bytes per second flow in, up to `capacity`; sending spends them.
///
/// The capacity is 1/50 s of traffic (at least one byte), so a throttled connection moves
/// smoothly, in bursts of at most 20 ms worth, never a second's worth at once. The bucket starts
/// full. Time is passed in (nanoseconds of a monotonic clock) so it is testable without sleeping.
struct TokenBucket: Sendable {
    let rate: UInt64
    let capacity: UInt64
    /// Tokens in the bucket, in units of 1/1_000_000_000 byte (byte × ns/s), to stay exact.
    private var scaledTokens: UInt64
    private var last: UInt64

    init(bytesPerSecond rate: UInt64, now: UInt64) {
        precondition(rate > 0)
        self.rate = rate
        capacity = max(1, rate / 50)
        scaledTokens = capacity * 1_000_000_000
        last = now
    }

    private mutating func refill(now: UInt64) {
        guard now > last else { return }
        let elapsed = now - last
        last = now
        let (added, overflow) = elapsed.multipliedReportingOverflow(by: rate)
        let cap = capacity * 1_000_000_000
        scaledTokens = overflow ? cap : min(cap, scaledTokens + min(added, cap))
    }

    /// Whole bytes that may be sent now.
    mutating func available(now: UInt64) -> UInt64 {
        refill(now: now)
        return scaledTokens / 1_000_000_000
    }

    /// Spends `bytes` tokens (no more than `available` returned).
    mutating func spend(_ bytes: UInt64) {
        scaledTokens -= min(scaledTokens, bytes * 1_000_000_000)
    }

    /// Nanoseconds until `min(bytes, capacity)` whole bytes are available (0 if they are now).
    mutating func delay(until bytes: UInt64, now: UInt64) -> UInt64 {
        refill(now: now)
        let want = min(bytes, capacity) * 1_000_000_000
        guard scaledTokens < want else { return 0 }
        return (want - scaledTokens + rate - 1) / rate
    }
}
