/// The faults one connection will suffer, decided when it is accepted: a pure function of the
/// configuration and the connection's number, so it can be tested (and predicted) without
/// sockets.
///
/// Connection `n` (1, 2, 3, … in accept order; refused connections get no number) draws from
/// `SplitMix64(seed: seed, connection: n)`, always in this order and always all of them, so
/// changing one probability never shifts the others' draws:
///
/// 1. cut? (`chance(cutProbability)`), 2. cut point (`uniform(in: cutAfter)`),
/// 3. stall? (`chance(stallProbability)`), 4. stall point (`uniform(in: stallAfter)`),
/// 5. stall length (`uniform(in: stallMilliseconds)`), 6. seed of the upstream flips,
/// 7. seed of the downstream flips.
///
/// Cut and stall points are exact byte counts. Which bytes get flipped also depends on how the
/// kernel splits the stream into reads (one chance per read chunk), so flips repeat exactly only
/// when the reads do.
public struct FaultPlan: Sendable, Hashable {
    /// A pause of both directions, once per connection.
    public struct Stall: Sendable, Hashable {
        /// Upstream bytes delivered to the target before the stall starts.
        public var afterUpstreamBytes: UInt64
        /// How long nothing is forwarded either way.
        public var milliseconds: UInt64
    }

    /// The connection's number, from 1.
    public var connection: UInt64
    /// Bytes delivered in the configured direction (for `both`, the sum of the two) after which
    /// both sockets are reset; nil when this connection is not cut.
    public var cutAfter: UInt64?
    /// Which byte counts `cutAfter` is compared with.
    public var cutDirection: FaultDirection
    /// The stall, if this connection gets one.
    public var stall: Stall?
    /// Flips of bytes read from the client; nil when none can happen.
    public var upstreamFlips: BitFlipper?
    /// Flips of bytes read from the target; nil when none can happen.
    public var downstreamFlips: BitFlipper?

    public init(configuration c: FaultProxyConfiguration, connection: UInt64) {
        var rng = SplitMix64(seed: c.seed, connection: connection)
        let cut = rng.chance(c.cutProbability)
        let cutPoint = rng.uniform(in: c.cutAfter)
        let stall = rng.chance(c.stallProbability)
        let stallPoint = rng.uniform(in: c.stallAfter)
        let stallLength = rng.uniform(in: c.stallMilliseconds)
        let upSeed = rng.next()
        let downSeed = rng.next()

        self.connection = connection
        cutAfter = cut ? cutPoint : nil
        cutDirection = c.direction
        self.stall = stall ? Stall(afterUpstreamBytes: stallPoint, milliseconds: stallLength) : nil
        let flips = c.flipProbability > 0
        upstreamFlips = flips && c.direction.includesUp
            ? BitFlipper(seed: upSeed, probability: c.flipProbability, skip: c.flipSkip) : nil
        downstreamFlips = flips && c.direction.includesDown
            ? BitFlipper(seed: downSeed, probability: c.flipProbability, skip: c.flipSkip) : nil
    }
}
