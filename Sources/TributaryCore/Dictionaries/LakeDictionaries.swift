import Synchronization
import TributaryProtocol

/// The zstd dictionaries sites compress segments with (docs/PROTOCOL.md, "Dictionaries"), kept
/// in the lake at `_tributary/dictionaries/<sha256>.zdict` — content-addressed, so every core
/// node of a shared lake (filesystem or S3) finds the one a site sent to any of them, and a
/// dictionary is written once and never changes.
///
/// Nothing read back is trusted: bytes from the lake must validate as a zstd dictionary of at
/// most `ZstdDictionary.maxBytes` and hash to the key's id, else the dictionary counts as
/// absent (the site sends it again). A small cache keeps the recently used ones decoded.
public final class LakeDictionaries: Sendable {
    public let lake: any LakeStore
    /// At most this many dictionaries are cached (each ≤ 128 KiB).
    public static let cacheEntries = 32

    private let cache = Mutex<[String: (dictionary: ZstdDictionary, used: UInt64)]>([:])
    private let clock = Atomic<UInt64>(0)

    public init(lake: any LakeStore) { self.lake = lake }

    public static func key(_ id: String) -> String { "_tributary/dictionaries/" + id + ".zdict" }

    /// The dictionary with sha256 `id`, or nil when the lake does not hold a valid one.
    public func get(_ id: String) async throws -> ZstdDictionary? {
        guard Hex.isSHA256(id) else { return nil }
        let tick = clock.add(1, ordering: .relaxed).newValue
        if let hit = cache.withLock({ c -> ZstdDictionary? in
            guard let e = c[id] else { return nil }
            c[id] = (e.dictionary, tick)
            return e.dictionary
        }) { return hit }
        guard let bytes = try await lake.readMetadata(key: Self.key(id), limit: ZstdDictionary.maxBytes) else { return nil }
        guard let d = try? ZstdDictionary(validating: bytes), d.id == id else { return nil }
        remember(d, tick)
        return d
    }

    /// Stores a dictionary a site sent (already validated, its id checked against the path).
    /// Idempotent: an existing valid copy is left alone.
    public func put(_ d: ZstdDictionary) async throws {
        if try await get(d.id) != nil { return }
        try await lake.writeMetadata(key: Self.key(d.id), bytes: d.bytes)
        remember(d, clock.add(1, ordering: .relaxed).newValue)
    }

    private func remember(_ d: ZstdDictionary, _ tick: UInt64) {
        cache.withLock { c in
            c[d.id] = (d, tick)
            if c.count > Self.cacheEntries, let oldest = c.min(by: { $0.value.used < $1.value.used })?.key {
                c[oldest] = nil
            }
        }
    }
}
