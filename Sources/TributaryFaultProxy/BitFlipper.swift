/// Decides, chunk by chunk, which bit of a stream to flip: for each chunk read, with probability
/// `probability`, one bit of one byte, both uniform among the chunk's bytes at stream offset
/// `skip` or later. A chunk wholly inside the first `skip` bytes is never flipped.
public struct BitFlipper: Sendable, Hashable {
    /// One flipped bit.
    public struct Flip: Sendable, Hashable {
        /// Offset of the byte in the direction's stream (0 = the connection's first byte).
        public var streamOffset: UInt64
        /// Offset of the byte in the chunk it was read in.
        public var chunkOffset: Int
        /// Which bit, 0 (least significant) to 7.
        public var bit: UInt8
    }

    private var rng: SplitMix64
    public let probability: Double
    public let skip: UInt64
    /// Bytes of the stream seen so far.
    public private(set) var offset: UInt64 = 0

    public init(seed: UInt64, probability: Double, skip: UInt64) {
        rng = SplitMix64(seed: seed)
        self.probability = probability
        self.skip = skip
    }

    /// The flip for the next chunk of `count` bytes, if any; advances the stream offset.
    /// Draws once for the chance, then twice more (byte, bit) when it hits and a byte is eligible.
    public mutating func next(chunk count: Int) -> Flip? {
        precondition(count >= 0)
        let start = offset
        offset += UInt64(count)
        guard count > 0, rng.chance(probability) else { return nil }
        let firstEligible = skip > start ? skip - start : 0
        guard firstEligible < UInt64(count) else { return nil }
        let index = firstEligible + rng.below(UInt64(count) - firstEligible)
        let bit = UInt8(rng.below(8))
        return Flip(streamOffset: start + index, chunkOffset: Int(index), bit: bit)
    }

    /// Decides the flip for `chunk` and applies it there.
    public mutating func apply(to chunk: UnsafeMutableRawBufferPointer) -> Flip? {
        guard let flip = next(chunk: chunk.count) else { return nil }
        chunk[flip.chunkOffset] ^= 1 << flip.bit
        return flip
    }
}
