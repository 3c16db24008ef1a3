#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

/// One site as `GET /v1/sites`, `GET /v1/sites/{site}` and `sites list --json` show it: the
/// stored state, the edge's last report passed through unchanged (so the figures equal the
/// edge's own `status --json` at `reported_at`), and the status by `FleetRules`. Fields that are
/// unknown (no report yet, no arrivals) are absent.
public struct SiteView: Sendable, Encodable, Equatable {
    public var site: String
    public var createdAt: String
    public var status: SiteHealth
    public var statusReason: String
    public var lastSeen: String?
    public var secondsSinceSeen: Double?
    // The last heartbeat, as the edge sent it.
    public var lastReportAt: String?
    public var reportedAt: String?
    public var agentVersion: String?
    public var linkState: String?
    public var lastError: String?
    public var lastSuccessAt: String?
    public var pendingObjects: Int?
    public var pendingBytes: UInt64?
    public var oldestCapturedAt: String?
    public var oldestPendingSeconds: Double?
    public var streams: [SiteReport.Stream]?
    public var spoolUsedBytes: UInt64?
    public var spoolMaxBytes: UInt64?
    public var spoolUsedObjects: Int?
    public var spoolMaxObjects: Int?
    /// The fuller of bytes and objects, 0…1.
    public var spoolFullness: Double?
    public var droppedObjects: Int64?
    public var droppedBytes: Int64?
    public var quarantinedObjects: Int64?
    /// The objects the edge set aside, as its last report listed them.
    public var quarantined: [SiteReport.Quarantined]?
    public var goodput: SiteReport.Goodput?
    public var dropsChangedAt: String?
    // What the core received.
    public var lastCommitAt: String?
    public var objectsReceived: Int64
    public var bytesReceived: Int64
    public var objectsStored: Int64
    public var bytesStored: Int64
    public var duplicates: Int64
    public var duplicateBytes: Int64
    public var rejections: [String: Int64]
    public var rejectedUploads: Int64
    public var ingestLag: Lag
    public var backlogHistory: [BacklogPoint]?

    public struct Lag: Sendable, Encodable, Equatable {
        public var count: Int64
        public var sumSeconds: Double
        public var meanSeconds: Double?
        /// Upper bounds of the buckets holding the median and the 95th percentile.
        public var p50Seconds: Double?
        public var p95Seconds: Double?
        /// Cumulative, as Prometheus has them: arrivals with lag ≤ `le` seconds.
        public var buckets: [Bucket]

        public struct Bucket: Sendable, Encodable, Equatable {
            public var le: String
            public var count: Int64
        }

        enum CodingKeys: String, CodingKey {
            case count, buckets
            case sumSeconds = "sum_seconds"
            case meanSeconds = "mean_seconds"
            case p50Seconds = "p50_seconds"
            case p95Seconds = "p95_seconds"
        }
    }

    public init(state s: SiteState, rules: FleetRules, now: Date, history: [BacklogPoint]? = nil) {
        site = s.site
        createdAt = s.createdAt
        lastSeen = s.lastSeen
        let seen = s.lastSeen.flatMap { try? Timestamp.parse($0) }
        secondsSinceSeen = seen.map { Self.round(max(0, now.timeIntervalSince($0))) }
        lastReportAt = s.lastReportAt
        let r = s.report
        reportedAt = r?.reportedAt
        agentVersion = r?.agentVersion
        linkState = r?.linkState
        lastError = r?.lastError
        lastSuccessAt = r?.lastSuccessAt
        pendingObjects = r?.pendingObjects
        pendingBytes = r?.pendingBytes
        oldestCapturedAt = r?.oldestCapturedAt
        let oldest = r?.oldestCapturedAt.flatMap { try? Timestamp.parse($0) }
        // 0 when nothing is pending; absent when the edge did not say (never the case for a tributary-edge).
        if let r { oldestPendingSeconds = r.pendingObjects > 0 ? oldest.map { Self.round(max(0, now.timeIntervalSince($0))) } : 0 }
        streams = r?.streams
        spoolUsedBytes = r?.spoolUsedBytes
        spoolMaxBytes = r?.spoolMaxBytes
        spoolUsedObjects = r?.spoolUsedObjects
        spoolMaxObjects = r?.spoolMaxObjects
        if let r {
            let b = r.spoolMaxBytes > 0 ? Double(r.spoolUsedBytes) / Double(r.spoolMaxBytes) : 0
            let o = r.spoolMaxObjects > 0 ? Double(r.spoolUsedObjects) / Double(r.spoolMaxObjects) : 0
            spoolFullness = (max(b, o) * 10_000).rounded() / 10_000
        }
        droppedObjects = r?.droppedObjects
        droppedBytes = r?.droppedBytes
        quarantinedObjects = r?.quarantinedObjects
        quarantined = r?.quarantined
        goodput = r?.goodput
        dropsChangedAt = s.dropsChangedAt
        lastCommitAt = s.lastCommitAt
        objectsReceived = s.counters.objectsReceived
        bytesReceived = s.counters.bytesReceived
        objectsStored = s.counters.objectsStored
        bytesStored = s.counters.bytesStored
        duplicates = s.counters.duplicates
        duplicateBytes = s.counters.duplicateBytes
        rejections = s.rejections
        rejectedUploads = s.rejections.values.reduce(0, +)
        var cumulative: Int64 = 0
        var buckets: [Lag.Bucket] = []
        for (i, c) in s.lag.counts.enumerated() {
            cumulative += c
            buckets.append(.init(le: i < LagHistogram.bounds.count ? PrometheusText.number(LagHistogram.bounds[i]) : "+Inf", count: cumulative))
        }
        ingestLag = Lag(
            count: s.lag.count, sumSeconds: Self.round(s.lag.sumSeconds),
            meanSeconds: s.lag.count > 0 ? Self.round(s.lag.sumSeconds / Double(s.lag.count)) : nil,
            p50Seconds: s.lag.quantileUpperBound(0.5), p95Seconds: s.lag.quantileUpperBound(0.95), buckets: buckets)
        backlogHistory = history
        (status, statusReason) = rules.health(
            lastSeen: seen, pendingObjects: r?.pendingObjects ?? 0, oldestPending: oldest,
            dropsChangedAt: s.dropsChangedAt.flatMap { try? Timestamp.parse($0) }, now: now)
    }

    static func round(_ d: Double) -> Double { (d * 1000).rounded() / 1000 }

    enum CodingKeys: String, CodingKey {
        case site, status, streams, rejections
        case createdAt = "created_at"
        case statusReason = "status_reason"
        case lastSeen = "last_seen"
        case secondsSinceSeen = "seconds_since_seen"
        case lastReportAt = "last_report_at"
        case reportedAt = "reported_at"
        case agentVersion = "agent_version"
        case linkState = "link_state"
        case lastError = "last_error"
        case lastSuccessAt = "last_success_at"
        case pendingObjects = "pending_objects"
        case pendingBytes = "pending_bytes"
        case oldestCapturedAt = "oldest_captured_at"
        case oldestPendingSeconds = "oldest_pending_seconds"
        case spoolUsedBytes = "spool_used_bytes"
        case spoolMaxBytes = "spool_max_bytes"
        case spoolUsedObjects = "spool_used_objects"
        case spoolMaxObjects = "spool_max_objects"
        case spoolFullness = "spool_fullness"
        case droppedObjects = "dropped_objects"
        case droppedBytes = "dropped_bytes"
        case quarantinedObjects = "quarantined_objects"
        case quarantined, goodput
        case dropsChangedAt = "drops_changed_at"
        case lastCommitAt = "last_commit_at"
        case objectsReceived = "objects_received"
        case bytesReceived = "bytes_received"
        case objectsStored = "objects_stored"
        case bytesStored = "bytes_stored"
        case duplicates
        case duplicateBytes = "duplicate_bytes"
        case rejectedUploads = "rejected_uploads"
        case ingestLag = "ingest_lag"
        case backlogHistory = "backlog_history"
    }
}

/// The whole answer of `GET /v1/sites`.
public struct FleetView: Sendable, Encodable {
    public var now: String
    public var offlineAfterSeconds: Double
    public var laggingAfterSeconds: Double
    public var droppingWindowSeconds: Double
    public var summary: [String: Int]
    public var sites: [SiteView]
    /// Forward targets of this core with their recovery point (Fleet/ForwardView.swift).
    public var forward: [ForwardView]

    public init(sites: [SiteView], rules: FleetRules, now: Date, forward: [ForwardView] = []) {
        self.forward = forward
        self.now = Timestamp.format(now)
        offlineAfterSeconds = rules.offlineAfterSeconds
        laggingAfterSeconds = rules.laggingAfterSeconds
        droppingWindowSeconds = rules.droppingWindowSeconds
        var summary: [String: Int] = [:]
        for h in SiteHealth.allCases { summary[h.rawValue] = sites.filter { $0.status == h }.count }
        self.summary = summary
        self.sites = sites
    }

    enum CodingKeys: String, CodingKey {
        case now, summary, sites, forward
        case offlineAfterSeconds = "offline_after_seconds"
        case laggingAfterSeconds = "lagging_after_seconds"
        case droppingWindowSeconds = "dropping_window_seconds"
    }

    /// JSON with sorted keys; an infinite quantile bound is written as "+Inf".
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return Array(try enc.encode(value))
    }
}
