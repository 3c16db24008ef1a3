import TributaryProtocol

/// How the edge compresses a segment (docs/PERFORMANCE.md, "Small sensor files on an idle link"):
/// the zstd level by the segment's size, and the manifest version it writes.
///
/// - A segment of at most `smallSegmentBytes` of content (what a trickle of small files makes) is
///   compressed at `smallLevel` (default 19): measured on hourly station readings, level 19 sends
///   20 % fewer bytes than level 3 on segments of ~8 files, and costs ~2 µs a byte on this project's
///   2-core test machine under load, i.e. at most ~0.25 s for the largest such segment (~60 ms for
///   a trickle's 35 KB). The same threshold as the dictionary's (`DictionaryPolicy.maxSegmentBytes`).
/// - A larger segment is compressed at the configured `level` (`zstd_level`, 3 by default): level
///   19 would save ~22 % on a 730-file burst but take seconds of CPU for a few MB, which an idle
///   link's burst must not wait for; a gateway on a metered link sets `zstd_level` higher.
/// - `manifestVersion` 2 (compact: no per-object sha256) unless `segment_manifest_version = 1`
///   for a core older than version 2 manifests.
public struct SegmentCompression: Sendable, Equatable {
    public static let smallSegmentBytes: UInt64 = DictionaryPolicy.maxSegmentBytes

    public var level: Int32
    public var smallLevel: Int32
    public var manifestVersion: Int

    public init(level: Int32 = 3, smallLevel: Int32 = 19, manifestVersion: Int = SegmentManifest.compactVersion) {
        self.level = level
        self.smallLevel = smallLevel
        self.manifestVersion = manifestVersion
    }

    public init(configuration c: EdgeConfiguration) {
        self.init(level: c.zstdLevel, smallLevel: c.zstdSmallSegmentLevel, manifestVersion: c.segmentManifestVersion)
    }

    /// The zstd level of a segment whose objects hold `contentBytes` bytes: never below `level`.
    public func level(contentBytes: UInt64) -> Int32 {
        contentBytes <= Self.smallSegmentBytes ? max(level, smallLevel) : level
    }
}
