import TributaryProtocol

/// How the edge compresses a segment (docs/PERFORMANCE.md, "Small sensor files on an idle link"):
/// the zstd level by the segment's size, and the manifest version it writes.
///
/// - A segment of at most `smallSegmentBytes` of content (what a trickle of small files makes) is
///   compressed at `smallLevel` (default 19): measured on hourly station readings, level 19 sends
///   20 % fewer bytes than level 3 on segments of ~8 files, and costs ~2 µs a byte on this project's
///   2-core test machine under load, i.e. at most ~0.25 s for the largest such segment (~60 ms for
///   a trickle's 35 KB). The same threshold as the dictionary's (`DictionaryPolicy.maxSegmentBytes`).
/// - A larger segment is compressed at the level `LevelPolicy` picks from the link's and the
///   compressor's measurements (`measurements`), never below `level` (3): level 19 would save ~22 % on a
///   730-file burst but take seconds of CPU for a few MB, which an idle link's burst must not wait for,
///   while on a slow link those seconds are paid back by the bytes saved. With `zstd_level` set in
///   the configuration (`measurements` nil) every larger segment goes at exactly that level.
/// - `manifestVersion` 2 (compact: no per-object sha256) unless `segment_manifest_version = 1`
///   for a core older than version 2 manifests.
public struct SegmentCompression: Sendable, Equatable {
    public static let smallSegmentBytes: UInt64 = DictionaryPolicy.maxSegmentBytes

    public var level: Int32
    public var smallLevel: Int32
    public var manifestVersion: Int
    /// Where larger segments' levels come from and compressions are recorded (nil: always `level`).
    public var measurements: LevelMeasurements?

    public init(
        level: Int32 = 3, smallLevel: Int32 = 19, manifestVersion: Int = SegmentManifest.compactVersion,
        measurements: LevelMeasurements? = nil
    ) {
        self.level = level
        self.smallLevel = smallLevel
        self.manifestVersion = manifestVersion
        self.measurements = measurements
    }

    /// `measurements` are used unless `zstd_level` is set in the configuration.
    public init(configuration c: EdgeConfiguration, measurements: LevelMeasurements? = nil) {
        self.init(
            level: c.zstdLevel, smallLevel: c.zstdSmallSegmentLevel, manifestVersion: c.segmentManifestVersion,
            measurements: c.zstdLevelIsSet ? nil : measurements)
    }

    /// The zstd level of a segment whose objects hold `contentBytes` bytes: never below `level`.
    public func level(contentBytes: UInt64) -> Int32 {
        if contentBytes <= Self.smallSegmentBytes { return max(level, smallLevel) }
        return measurements?.level(contentBytes: contentBytes, base: level) ?? level
    }

    /// A segment of `contentBytes` of content was compressed at `level` into `compressedBytes`,
    /// using `cpuSeconds` of CPU: a measurement for `LevelPolicy`.
    public func compressed(level: Int32, contentBytes: UInt64, compressedBytes: UInt64, cpuSeconds: Double) {
        measurements?.compressed(level: level, inputBytes: contentBytes, outputBytes: compressedBytes, cpuSeconds: cpuSeconds)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.level == b.level && a.smallLevel == b.smallLevel && a.manifestVersion == b.manifestVersion && a.measurements === b.measurements
    }
}
