/// SplitMix64 (Steele, Lea, Flood 2014; the seeding generator of xoshiro): a 64-bit state that
/// advances by the golden-ratio constant, and an output mix of that state.
///
///     state += 0x9E3779B97F4A7C15
///     z = state
///     z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
///     z = (z ^ (z >> 27)) * 0x94D049BB133111EB
///     return z ^ (z >> 31)
///
/// The derived draws (`uniform(in:)`, `unitInterval()`) are written out here rather than taken
/// from the standard library, whose algorithms may change between Swift releases: the same seed
/// gives the same faults with every toolchain.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The generator of connection `index` under `seed`: the state is
    /// `mix(seed) ^ mix(index + 0x9E3779B97F4A7C15)`, so neighbouring seeds and neighbouring
    /// connections get unrelated streams.
    public init(seed: UInt64, connection index: UInt64) {
        state = Self.mix(seed) ^ Self.mix(index &+ 0x9E37_79B9_7F4A_7C15)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 output function: a bijective mix of 64 bits.
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `range`, uniform up to a bias below 2⁻⁶⁴ per value: the high word of
    /// `next() × (span)` (Lemire's multiply-shift without rejection).
    public mutating func uniform(in range: ValueRange) -> UInt64 {
        let span = range.upperBound &- range.lowerBound
        if span == UInt64.max { return next() }
        return range.lowerBound + next().multipliedFullWidth(by: span + 1).high
    }

    /// A number in `0..<bound` (`bound` ≥ 1), drawn as `uniform(in:)` does.
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound >= 1)
        return next().multipliedFullWidth(by: bound).high
    }

    /// A double in [0, 1): the top 53 bits of `next()` divided by 2⁵³.
    public mutating func unitInterval() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// True with probability `p`: `unitInterval() < p`. Always draws once, even for 0 and 1.
    public mutating func chance(_ p: Double) -> Bool {
        unitInterval() < p
    }
}
