/// Deterministic pseudo-random bytes (SplitMix64), so a failing test fails the same way again.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

public enum TestBytes {
    /// `count` incompressible bytes, the same for the same seed.
    public static func random(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var g = SeededGenerator(seed: seed)
        var out = [UInt8]()
        out.reserveCapacity(count + 8)
        while out.count < count {
            withUnsafeBytes(of: g.next().littleEndian) { out.append(contentsOf: $0) }
        }
        return Array(out.prefix(count))
    }

    /// `count` bytes of CSV-like text that compresses well but not trivially.
    public static func compressible(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var g = SeededGenerator(seed: seed)
        var out = [UInt8]()
        out.reserveCapacity(count + 64)
        var row = 0
        while out.count < count {
            let value = Int(g.next() % 10_000)
            out += Array("2026-11-21T10:\(row % 60):00Z,sensor-\(row % 7),\(value)\n".utf8)
            row += 1
        }
        return Array(out.prefix(count))
    }

    /// Splits `bytes` into chunks of varying sizes (1 byte up to `maxChunk`), to exercise
    /// incremental parsers across every boundary.
    public static func chunks(_ bytes: [UInt8], maxChunk: Int = 4096, seed: UInt64 = 7) -> [ArraySlice<UInt8>] {
        var g = SeededGenerator(seed: seed)
        var out: [ArraySlice<UInt8>] = []
        var i = 0
        while i < bytes.count {
            let n = min(Int(g.next() % UInt64(maxChunk)) + 1, bytes.count - i)
            out.append(bytes[i..<(i + n)])
            i += n
        }
        return out
    }
}
