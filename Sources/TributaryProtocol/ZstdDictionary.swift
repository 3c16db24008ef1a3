import CZstd

/// A zstd dictionary (docs/PROTOCOL.md, "Dictionaries"): content-addressed by the sha256 of its
/// bytes (`id`), and carrying zstd's own 32-bit dictionary ID (`zstdID`), which every frame
/// compressed with it records and the decoder checks — a frame is never decoded with another
/// dictionary than its own.
///
/// Only dictionaries in zstd's format (magic `37 A4 30 EC`, non-zero ID, entropy tables that load)
/// are accepted, of at most `maxBytes`: a raw-content dictionary has no ID, so a wrong one could
/// not be told apart at decoding.
public struct ZstdDictionary: Sendable, Equatable {
    /// The largest dictionary a core accepts (the edge trains 16–64 KiB ones).
    public static let maxBytes = 128 * 1024
    static let magic: [UInt8] = [0x37, 0xA4, 0x30, 0xEC]

    public let bytes: [UInt8]
    /// Lowercase hex sha256 of `bytes`.
    public let id: String
    /// The dictionary ID zstd writes in each frame's header.
    public let zstdID: UInt32

    /// Checks `bytes` is a loadable zstd dictionary of at most `maxBytes` (`invalid_dictionary`,
    /// `too_large`). Never traps.
    public init(validating bytes: [UInt8], maxBytes: Int = ZstdDictionary.maxBytes) throws {
        guard bytes.count <= maxBytes else {
            throw TributaryError(.tooLarge, "a dictionary of \(bytes.count) bytes exceeds \(maxBytes)")
        }
        guard bytes.count > 8, Array(bytes.prefix(4)) == Self.magic else {
            throw TributaryError(.invalidDictionary, "not a zstd dictionary (no dictionary magic)")
        }
        let zid = bytes.withUnsafeBytes { ZSTD_getDictID_fromDict($0.baseAddress, $0.count) }
        guard zid != 0 else { throw TributaryError(.invalidDictionary, "the zstd dictionary has no dictionary ID") }
        // Loading parses the entropy tables: a damaged dictionary is refused here, not at decoding.
        let loaded = bytes.withUnsafeBytes { raw -> Bool in
            guard let d = ZSTD_createDDict(raw.baseAddress, raw.count) else { return false }
            ZSTD_freeDDict(d)
            return true
        }
        guard loaded else { throw TributaryError(.invalidDictionary, "the zstd dictionary's entropy tables do not load") }
        self.bytes = bytes
        self.id = StreamingDigest.sha256Hex(bytes)
        self.zstdID = zid
    }

    /// The dictionary trainer's frequency table has 2^`frequencyLog` entries (zstd's default: 2^20).
    public static let frequencyLog: UInt32 = 16

    /// Trains a dictionary of at most `capacity` bytes from `samples` (concatenated; `sizes`
    /// gives each sample's length) with zstd's default trainer (fastCover, d = 8, 4 steps, as
    /// `ZDICT_trainFromBuffer`) but a frequency table of 2^`frequencyLog` entries instead of 2^20:
    /// the default's 4 MiB table and 2 MiB per try were the edge's largest allocations in a burst
    /// (docs/PERFORMANCE.md, "Anonymous memory under a burst"). Nil when zstd cannot make one (too
    /// few or too uniform samples) or the result does not validate.
    public static func train(samples: [UInt8], sizes: [Int], capacity: Int) -> ZstdDictionary? {
        guard !sizes.isEmpty, capacity > 256, capacity <= maxBytes, sizes.reduce(0, +) == samples.count else { return nil }
        var out = [UInt8](repeating: 0, count: capacity)
        var params = ZDICT_fastCover_params_t()
        params.d = 8
        params.f = frequencyLog
        params.steps = 4
        params.zParams.compressionLevel = ZSTD_defaultCLevel()
        let r = out.withUnsafeMutableBytes { dst in
            samples.withUnsafeBytes { src in
                sizes.withUnsafeBufferPointer { sz in
                    ZDICT_optimizeTrainFromBuffer_fastCover(dst.baseAddress, dst.count, src.baseAddress, sz.baseAddress, UInt32(sz.count), &params)
                }
            }
        }
        guard ZDICT_isError(r) == 0, r > 0, r <= capacity else { return nil }
        return try? ZstdDictionary(validating: Array(out.prefix(r)))
    }

    /// The dictionary ID recorded in the header of the zstd frame that `prefix` begins with (0:
    /// none, or not a frame header). 18 bytes are always enough.
    public static func frameDictionaryID(_ prefix: UnsafeRawBufferPointer) -> UInt32 {
        ZSTD_getDictID_fromFrame(prefix.baseAddress, prefix.count)
    }
}
