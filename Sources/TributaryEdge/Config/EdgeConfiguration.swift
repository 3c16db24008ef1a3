import TributaryDelivery
import TributarySettings
import TributaryProtocol

/// Everything the edge agent is told, with the defaults a local demo runs on.
/// Loading from TOML, `TRIBUTARY_*` environment variables and flags is in
/// `EdgeConfiguration+Loading.swift`; edge/tributary-edge.toml documents every key.
public struct EdgeConfiguration: Sendable, Equatable {
    public enum FullPolicy: String, Sendable, CaseIterable {
        /// Nothing new is taken while the spool is full: inbox files wait, `put` fails.
        case block
        /// The oldest pending objects (lowest priority first) are evicted, each logged and counted.
        case dropOldest = "drop-oldest"
    }

    public enum InboxPolicy: String, Sendable, CaseIterable {
        /// An inbox file is removed once its copy in the spool is durable.
        case delete
        /// The file stays; the journal remembers (path, size, mtime, inode) so it is taken once.
        case keep
    }

    // Identity and core.
    /// This site's id, as registered at the core (`tributary-core sites add SITE`). Required for `run`.
    public var site: String = ""
    /// The site token printed by `sites add`. Required for `run`.
    public var token: String = ""
    /// Base URLs of the cores, in preference order (`core = ["https://a", "https://b"]`; one URL
    /// is the usual case: a core, or the load balancer in front of several). The agent sends to one
    /// at a time and fails over to the next when it is unreachable (`CoreFailover`).
    public var coreURLs: [String] = ["http://127.0.0.1:8080"]
    /// The preferred (first) core.
    public var coreURL: String { coreURLs[0] }
    /// How long the current core must have been unreachable (`down_after_failures` times in a row
    /// at least) before the agent fails over to the next one. Default 10 s.
    public var failoverAfterSeconds: Double = 10
    /// While on a core other than the preferred one, how often the more preferred ones are probed
    /// to return to them. Default 60 s.
    public var failbackProbeSeconds: Double = 60
    /// PEM bundle of CAs to trust instead of the system's.
    public var caFile: String? = nil
    /// A file whose first line is the token (read at start when `token` is not set, and again on
    /// SIGHUP), so the token is in neither the configuration nor the command line.
    public var tokenFile: String? = nil
    /// Allow `http://` to a host other than this machine (the token would cross the network in
    /// clear). Default false.
    public var allowInsecureHTTP: Bool = false
    /// PEM client certificate and key for a core that requires mutual TLS.
    public var clientCert: String? = nil
    public var clientKey: String? = nil

    // Intake.
    public var inboxDirectory: String = "./tributary-data/edge/inbox"
    public var spoolDirectory: String = "./tributary-data/edge/spool"
    public var inboxPolicy: InboxPolicy = .delete
    /// Stream of files placed directly in the inbox (not in a stream subdirectory).
    public var defaultStream: String = "default"
    /// A file written in place is taken once its size and mtime have not changed for this long.
    public var settleMilliseconds: Int = 2000
    /// Rescan interval; inotify wakes the scanner sooner where available.
    public var pollMilliseconds: Int = 1000
    public var useInotify: Bool = true
    /// Buckets to take objects from beside the inbox (`[[source]]` in the TOML file only).
    public var sources: [S3SourceSettings] = []

    // Spool limits.
    public var maxSpoolBytes: UInt64 = 4 << 30
    public var maxSpoolObjects: Int = 1_000_000
    public var fullPolicy: FullPolicy = .block

    // Batching.
    public var segmentMaxBytes: UInt64 = 8 << 20
    public var segmentMaxObjects: Int = 1000
    /// A segment is closed once its oldest object waited this long, however small it is.
    public var segmentMaxAgeMilliseconds: Int = 5000
    /// While the fresh lane has nothing queued or in flight (the uploader is idle), a segment is
    /// closed once no new object arrived for this long instead of waiting out `segmentMaxAge`
    /// (Nagle style: a burst goes as soon as it ends; under load, segments fill by size and age).
    /// 0 turns it off. Default 100 ms.
    public var segmentIdleLingerMilliseconds: Int = 100
    /// The zstd level of single objects, and the lowest level of segments over 128 KiB of content.
    /// Default 3. Unless set (`zstdLevelIsSet`), such a segment's level is picked by `LevelPolicy` from
    /// the link's and the compressor's measured speeds; set, it is exactly this level.
    public var zstdLevel: Int32 = 3 {
        didSet { zstdLevelIsSet = true }
    }
    /// `zstd_level` was given (configuration file, environment or flag): no level by measurement.
    public var zstdLevelIsSet = false
    /// The zstd level of segments with at most 128 KiB of content (`SegmentCompression`); never
    /// below `zstdLevel`. Default 19.
    public var zstdSmallSegmentLevel: Int32 = 19
    /// The segment manifest version the edge writes: 2 (compact, default) or 1 (for a core older
    /// than version 2 manifests; docs/PROTOCOL.md, "Segments").
    public var segmentManifestVersion: Int = SegmentManifest.compactVersion
    /// Per-stream zstd dictionaries (docs/PROTOCOL.md, "Dictionaries"): the most bytes of one
    /// trained dictionary; 0 turns dictionaries off.
    public var dictionaryBytes: Int = 16 << 10
    /// The sample a stream's dictionary is trained from: the first `dictionarySampleObjectBytes`
    /// of each object, up to `dictionarySampleBytes` in all.
    public var dictionarySampleBytes: Int = 512 << 10
    public var dictionarySampleObjectBytes: Int = 8 << 10
    /// A stream's dictionary is trained again from fresh samples after this many of its objects
    /// went in segments with it (the data drifts); 0: never retrained.
    public var dictionaryRetrainObjects: Int = 100_000
    /// Objects of at least this size go as their own upload instead of into a segment.
    public var largeObjectBytes: UInt64 = 8 << 20
    /// Incompressible objects of at least this size also go alone, sent as they are.
    public var incompressibleAloneBytes: UInt64 = 256 << 10
    /// Objects smaller than this are not named in the have-check (32 bytes a hash up): for them the
    /// question costs about what a rare duplicate would save; the core still stores each content
    /// once. 0 asks about every object. Default 4 KiB.
    public var haveCheckMinBytes: UInt64 = 4096
    /// How many batches may wait built (segment files on disk) ahead of the uploader.
    public var batchesAhead: Int = 2

    // Upload.
    /// The largest PATCH: the chunk size starts here and grows back to it (`ChunkSizer`). 16 MiB by
    /// measurement (docs/PERFORMANCE.md, "Edge intake"): the core fsyncs at the end of each PATCH, and
    /// 2 MiB steps cost a third of a large file's throughput; 8–32 MiB measured alike.
    public var chunkBytes: UInt64 = 16 << 20
    /// The smallest PATCH the chunk size shrinks to after cuts and stalls.
    public var chunkFloorBytes: UInt64 = 32 << 10
    /// Commits the core fails (5xx) in a row for one batch, and creations it refuses (400/413/415),
    /// before the batch is set aside (quarantined; `retry-quarantined` puts it back).
    public var poisonAfterFailures: Int = 5
    public var connectTimeoutSeconds: Double = 10
    /// A transfer that moves under 1 KiB/s for this long is abandoned and resumed.
    public var stallSeconds: Int = 15
    /// Upload rate cap in bytes/s outside the schedule's windows (0: none).
    public var bandwidthBytesPerSecond: Int64 = 0
    public var bandwidthSchedule: BandwidthSchedule = BandwidthSchedule()
    /// Backoff after a failure: full jitter over `min(cap, base·2^n)`.
    public var retryBaseMilliseconds: Int = 500
    public var retryCapMilliseconds: Int = 60_000
    /// Consecutive failures after which the link is reported `down` rather than `backing-off`.
    public var downAfterFailures: Int = 3
    /// Stream priorities (higher first); streams not named have 0.
    public var priorities: [String: Int] = [:]

    // Reports.
    /// Seconds between heartbeats to the core while the link is up (also sent after deliveries).
    public var heartbeatSeconds: Int = 30
    /// The fewest seconds between two heartbeats sent because of deliveries (`HeartbeatSchedule`): the
    /// first delivery after a quiet spell is reported at once, the rest of a burst in one heartbeat
    /// this long after the previous one. 0: after every delivery. At most `heartbeatSeconds`. Default 5.
    public var heartbeatMinIntervalSeconds: Int = 5
    /// If set, Prometheus metrics are written to this file (node_exporter textfile collector) every 15 s.
    public var metricsTextfile: String? = nil

    public var logLevel: String = "info"

    public init() {}

    public func priority(of stream: String) -> Int { priorities[stream] ?? 0 }
}

/// Shared with the core: `TributarySettings.ConfigurationError`.
public typealias ConfigurationError = TributarySettings.ConfigurationError
