#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

// Per-site state (issue 5): what the catalog keeps about each site besides its objects, so the
// fleet view is the same on every core node and survives restarts. Tables (schema version 2,
// DDL in Catalog/SQLiteCatalog+Schema.swift): `site_state` (last seen, last report, the drop
// counter, commit counters, ingest lag sum), `site_lag` (arrivals per `LagHistogram` bucket),
// `site_rejections` (refused uploads by error code), `site_backlog` (the reported backlog, one
// point per history step, the last report in a step wins, pruned past the retention at each
// heartbeat). Timestamps are the core's clock.
//
// Invariants:
// - Counters only grow, and grow in the commit's own transaction (an upload counted is an upload
//   committed; a retried commit of the same upload returns its receipt and counts nothing).
// - Every update is an upsert with `count = count + delta`, so nodes sharing PostgreSQL never
//   lose an increment to a read-modify-write race.
// - A site's last report is kept until the next one arrives: a site that goes dark is shown with
//   its last known backlog.

/// Everything the catalog knows about one site's activity.
public struct SiteState: Sendable, Equatable {
    public var site: String
    public var createdAt: String
    public var lastSeen: String?
    public var lastReportAt: String?
    public var report: SiteReport?
    public var dropsChangedAt: String?
    public var lastCommitAt: String?
    public var counters = SiteCounters()
    public var rejections: [String: Int64] = [:]
    public var lag = LagHistogram()

    public init(site: String, createdAt: String) {
        self.site = site
        self.createdAt = createdAt
    }
}

/// Objects and bytes a site's commits brought.
public struct SiteCounters: Sendable, Equatable {
    public var objectsReceived: Int64 = 0
    public var bytesReceived: Int64 = 0
    public var objectsStored: Int64 = 0
    public var bytesStored: Int64 = 0
    public var duplicates: Int64 = 0
    public var duplicateBytes: Int64 = 0

    public init() {}
}

/// Ingest lag (received_at − captured_at) in fixed buckets. `counts[i]` holds the arrivals with
/// lag ≤ `bounds[i]` and > `bounds[i-1]` (not cumulative); `counts[bounds.count]` those above the
/// last bound. A negative lag (edge clock ahead) counts as 0.
public struct LagHistogram: Sendable, Equatable {
    /// Upper bounds in seconds: 1 s … 1 day.
    public static let bounds: [Double] = [1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 86_400]

    public var counts: [Int64] = Array(repeating: 0, count: bounds.count + 1)
    public var count: Int64 = 0
    public var sumSeconds: Double = 0

    public init() {}

    public static func bucket(_ lag: Double) -> Int {
        let l = max(0, lag)
        return bounds.firstIndex(where: { l <= $0 }) ?? bounds.count
    }

    public mutating func add(_ lag: Double) {
        counts[Self.bucket(lag)] += 1
        count += 1
        sumSeconds += max(0, lag)
    }

    public mutating func merge(_ other: LagHistogram) {
        for i in counts.indices { counts[i] += other.counts[i] }
        count += other.count
        sumSeconds += other.sumSeconds
    }

    /// The upper bound of the bucket holding the q-quantile (nil without arrivals; +Inf above the
    /// last bound) — as precise as the buckets allow, which is what an operator needs.
    public func quantileUpperBound(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = Int64((q * Double(count)).rounded(.up))
        var seen: Int64 = 0
        for (i, c) in counts.enumerated() {
            seen += c
            if seen >= max(1, rank) { return i < Self.bounds.count ? Self.bounds[i] : .infinity }
        }
        return .infinity
    }
}

/// One point of a site's reported backlog over time.
public struct BacklogPoint: Sendable, Equatable, Codable {
    public var at: String
    public var pendingObjects: Int64
    public var pendingBytes: Int64

    public init(at: String, pendingObjects: Int64, pendingBytes: Int64) {
        self.at = at
        self.pendingObjects = pendingObjects
        self.pendingBytes = pendingBytes
    }

    enum CodingKeys: String, CodingKey {
        case at
        case pendingObjects = "pending_objects"
        case pendingBytes = "pending_bytes"
    }
}

/// A heartbeat as the catalog records it.
public struct HeartbeatRecord: Sendable {
    public var site: String
    public var report: SiteReport
    /// The report's JSON as stored and served back.
    public var reportJSON: String
    /// Arrival time at the core.
    public var receivedAt: String
    /// Start of the history step this report falls in, and the oldest point to keep.
    public var historyAt: String
    public var historyKeepFrom: String

    /// `step`: seconds per history point; `retention`: seconds of history kept.
    public init(site: String, report: SiteReport, receivedAt: Date, step: Int, retention: Int) throws {
        self.site = site
        self.report = report
        self.reportJSON = String(decoding: try JSON.encode(report), as: UTF8.self)
        self.receivedAt = Timestamp.format(receivedAt)
        let t = receivedAt.timeIntervalSince1970
        let s = Double(max(1, step))
        self.historyAt = Timestamp.format(Date(timeIntervalSince1970: (t / s).rounded(.down) * s))
        self.historyKeepFrom = Timestamp.format(Date(timeIntervalSince1970: t - Double(retention)))
    }

    /// The backlog point this heartbeat stores at `historyAt` (the last report in a step wins).
    public var point: BacklogPoint {
        BacklogPoint(at: historyAt, pendingObjects: Int64(clamping: report.pendingObjects), pendingBytes: Int64(clamping: report.pendingBytes))
    }
}

/// What one commit adds to its site's state: computed from the resolved arrivals inside the
/// commit's transaction (so a content a concurrent commit stored first counts as a duplicate).
public struct SiteTally: Sendable, Equatable {
    public var counters = SiteCounters()
    public var lag = LagHistogram()

    public init(arrivals: [ArrivalRecord]) {
        for a in arrivals {
            counters.objectsReceived += 1
            counters.bytesReceived += Int64(a.size)
            if a.status == .stored {
                counters.objectsStored += 1
                counters.bytesStored += Int64(a.size)
            } else {
                counters.duplicates += 1
                counters.duplicateBytes += Int64(a.size)
            }
            if let received = try? Timestamp.parse(a.receivedAt), let captured = try? Timestamp.parse(a.capturedAt) {
                lag.add(received.timeIntervalSince(captured))
            }
        }
    }

    /// Buckets with arrivals, as (bucket index, count).
    var lagBuckets: [(Int, Int64)] { lag.counts.enumerated().filter { $0.element > 0 }.map { ($0.offset, $0.element) } }
}
