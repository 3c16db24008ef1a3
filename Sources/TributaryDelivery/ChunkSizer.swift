/// The PATCH size, adapted to the link. Pure.
///
/// A cut link discards the chunk in flight (the core keeps only whole chunks that pass their
/// checksum), so on a link that cuts every few hundred KB a big chunk almost never lands. Each
/// upload lane keeps one `ChunkSizer` across its batches:
///
///     start:                        size = max
///     after a cut or stall:         size = max(floor, size / 2),  streak = 0
///     after a chunk the core took:  streak += 1; when streak = growAfter: size = min(max, 2 · size), streak = 0
///
/// with `max` = `chunk_bytes` and `floor` = min(`chunk_floor_bytes`, `chunk_bytes`). On a clean link
/// the size never leaves `max` (no throughput cost); on a link that cuts on average every L bytes
/// it settles where a chunk usually survives (around L/2 … L), so the wire carries little more
/// than the data, and it probes upward again after `growAfter` chunks in a row succeed.
public struct ChunkSizer: Sendable, Equatable {
    public let maximum: UInt64
    public let floor: UInt64
    public let growAfter: Int
    public private(set) var current: UInt64
    public private(set) var streak = 0

    public init(maximum: UInt64, floor: UInt64 = 32 << 10, growAfter: Int = 4) {
        self.maximum = max(1, maximum)
        self.floor = max(1, min(floor, maximum))
        self.growAfter = max(1, growAfter)
        current = self.maximum
    }

    /// The chunk in flight was lost to a cut or a stall.
    public mutating func cut() {
        current = max(floor, current / 2)
        streak = 0
    }

    /// The core took a chunk of `length` bytes. Only a full-size chunk counts toward growing
    /// (a batch's short last chunk says nothing about the link at the current size).
    public mutating func succeeded(length: UInt64) {
        guard length >= current else { return }
        streak += 1
        if streak >= growAfter {
            current = min(maximum, current * 2)
            streak = 0
        }
    }
}
