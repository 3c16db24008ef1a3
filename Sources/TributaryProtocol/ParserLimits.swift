/// The ceilings every parser of site bytes works under (docs/PROTOCOL.md, "Parser limits").
///
/// A site's bytes are hostile until proved otherwise: every collection a parser builds from
/// them, and every byte it produces from them, is counted against one of these limits, and
/// crossing one throws a `TributaryError` (never a trap, never an unbounded allocation). The
/// defaults suit the core; it passes its configured values (e.g. `max_decoded_bytes`).
///
/// | limit                  | default  | counted as                                         | error            |
/// |------------------------|----------|----------------------------------------------------|------------------|
/// | `maxDecodedBytes`      | 64 GiB   | decompressed bytes as zstd produces them; also the | `too_large`      |
/// |                        |          | overflow-checked sum of the manifest's sizes       |                  |
/// | `maxManifestBytes`     | 16 MiB   | size of the manifest member                        | `corrupt_segment`|
/// | `maxManifestEntries`   | 100 000  | entries in the manifest's `objects`                | `corrupt_segment`|
/// | `maxPaxRecordBytes`    | 8 KiB    | one pax record (`"%d %s=%s\n"`)                    | `corrupt_segment`|
/// | `maxPaxHeaderBytes`    | 64 KiB   | all pax headers before one member, together        | `corrupt_segment`|
/// | `maxTrailingBytes`     | 10 240   | zero bytes after the tar end-of-archive marker     | `corrupt_segment`|
/// |                        |          | (one tar record, what GNU tar pads to)             |                  |
/// | `maxJSONBodyBytes`     | 2 MiB    | a have-check or heartbeat JSON body                | `too_large`      |
public struct ParserLimits: Sendable, Equatable {
    /// Decoded (decompressed) bytes of one upload: the whole tar stream of a segment, headers and
    /// padding included. Counted as the decompressor produces them, so a bomb stops at the limit
    /// whatever its manifest declares. The sum of the manifest's declared sizes must not exceed
    /// it either (checked with overflow detection before any member is read).
    public var maxDecodedBytes: UInt64 = 64 << 30
    /// Bytes of the manifest member (`tributary-manifest.json`).
    public var maxManifestBytes: UInt64 = 16 << 20
    /// Entries in the manifest.
    public var maxManifestEntries: Int = 100_000
    /// Bytes of one pax record. A record holds at most a path of a stream (64) + `/` + an
    /// object name (1024), so 8 KiB leaves room for any honest writer.
    public var maxPaxRecordBytes: Int = 8 << 10
    /// Bytes of all pax extended headers that precede one member, together.
    public var maxPaxHeaderBytes: UInt64 = 64 << 10
    /// Bytes after the two zero blocks that end the tar stream. Archivers pad the archive to a
    /// record of 20 blocks (10 240 bytes) with zeros; more than one record is refused.
    public var maxTrailingBytes: Int = 10_240
    /// Bytes of a JSON request body: the have-check (`POST /v1/have`, at most
    /// `WireProtocol.maxHaveCheckHashes` hashes of ~67 bytes each) and the heartbeat.
    public var maxJSONBodyBytes: Int = 2 << 20

    public init() {}

    /// The defaults, with the core's configured ceiling on decoded bytes.
    public init(maxDecodedBytes: UInt64) {
        self.maxDecodedBytes = maxDecodedBytes
    }

    public static let `default` = ParserLimits()
}
