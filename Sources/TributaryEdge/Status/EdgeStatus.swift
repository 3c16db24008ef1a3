#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryFiles
import TributaryProtocol

/// What `tributary-edge status` shows: the journal's figures (exact, read in one transaction)
/// plus the running agent's live view (link, upload in flight) when it runs.
public struct EdgeStatus: Codable, Sendable, Equatable {
    /// The heartbeat's stream record, with the stream's priority set.
    public typealias Stream = SiteReport.Stream

    public struct SpoolUse: Codable, Sendable, Equatable {
        public var directory: String
        public var usedBytes: UInt64
        public var maxBytes: UInt64
        public var usedObjects: Int
        public var maxObjects: Int
        public var fullPolicy: String
        /// Built batches waiting to be sent, and their bytes on disk.
        public var batches: Int
        public var batchBytes: UInt64

        enum CodingKeys: String, CodingKey {
            case directory, batches
            case usedBytes = "used_bytes"
            case maxBytes = "max_bytes"
            case usedObjects = "used_objects"
            case maxObjects = "max_objects"
            case fullPolicy = "full_policy"
            case batchBytes = "batch_bytes"
        }
    }

    /// The same record the heartbeat carries (one definition, in the contract module).
    public typealias Quarantined = SiteReport.Quarantined

    public var site: String
    public var agentRunning: Bool
    public var pendingObjects: Int
    public var pendingBytes: UInt64
    public var oldestCapturedAt: String?
    public var streams: [Stream]
    public var spool: SpoolUse
    public var droppedObjects: Int64
    public var droppedBytes: Int64
    public var quarantined: [Quarantined]
    /// Counters since the spool was created: accepted_*, acked_*, dropped_*, quarantined_objects…
    public var counters: [String: Int64]
    /// The running agent's view; nil when no agent runs on this spool.
    public var agent: AgentRuntimeStatus?
    /// Goodput since the spool was created (the journal's `good_bytes` ÷ `wire_bytes`); the
    /// agent's link session has its own in `agent.goodput`.
    public var goodput: SiteReport.Goodput

    enum CodingKeys: String, CodingKey {
        case site, streams, spool, quarantined, counters, agent, goodput
        case agentRunning = "agent_running"
        case pendingObjects = "pending_objects"
        case pendingBytes = "pending_bytes"
        case oldestCapturedAt = "oldest_captured_at"
        case droppedObjects = "dropped_objects"
        case droppedBytes = "dropped_bytes"
    }
}

extension Journal {
    /// The journal's part of the status, read in one transaction so the figures agree.
    public func status(configuration c: EdgeConfiguration) throws -> EdgeStatus {
        try locked {
            try db.transaction {
                var streams: [EdgeStatus.Stream] = []
                for r in try db.query("SELECT stream, COUNT(*), SUM(size), MIN(captured_at) FROM objects GROUP BY stream ORDER BY stream") {
                    let s = r[0].string!
                    streams.append(EdgeStatus.Stream(
                        stream: s, priority: c.priority(of: s), pendingObjects: Int(r[1].int!), pendingBytes: UInt64(r[2].int ?? 0),
                        oldestCapturedAt: r[3].string))
                }
                let b = try db.query("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM batches")[0]
                var counters: [String: Int64] = [:]
                for r in try db.query("SELECT name, value FROM counters") { counters[r[0].string!] = r[1].int! }
                let quarantined = try db.query("SELECT stream, name, size, reason, at FROM quarantine ORDER BY id DESC LIMIT 100").map {
                    EdgeStatus.Quarantined(stream: $0[0].string!, name: $0[1].string!, size: UInt64($0[2].int!), reason: $0[3].string!, at: $0[4].string!)
                }
                let pendingObjects = streams.reduce(0) { $0 + $1.pendingObjects }
                let pendingBytes = streams.reduce(UInt64(0)) { $0 + $1.pendingBytes }
                return EdgeStatus(
                    site: c.site, agentRunning: false, pendingObjects: pendingObjects, pendingBytes: pendingBytes,
                    oldestCapturedAt: streams.compactMap(\.oldestCapturedAt).min(), streams: streams,
                    spool: .init(
                        directory: spoolDirectory, usedBytes: pendingBytes, maxBytes: c.maxSpoolBytes, usedObjects: pendingObjects,
                        maxObjects: c.maxSpoolObjects, fullPolicy: c.fullPolicy.rawValue, batches: Int(b[0].int!), batchBytes: UInt64(b[1].int!)),
                    droppedObjects: counters["dropped_objects"] ?? 0, droppedBytes: counters["dropped_bytes"] ?? 0,
                    quarantined: quarantined, counters: counters, agent: nil,
                    goodput: SiteReport.Goodput(
                        wireBytes: UInt64(max(0, counters["wire_bytes"] ?? 0)), goodBytes: UInt64(max(0, counters["good_bytes"] ?? 0))))
            }
        }
    }
}

extension EdgeStatus {
    /// The full status of the spool at `c.spoolDirectory`: journal + the agent's live file, if an
    /// agent holds the spool's lock.
    public static func read(configuration c: EdgeConfiguration) throws -> EdgeStatus {
        guard FileIO.exists(c.spoolDirectory + "/journal.sqlite") else {
            throw ConfigurationError("no spool at \(c.spoolDirectory) (no journal.sqlite): pass --spool or --config of the agent")
        }
        let journal = try Journal(spoolDirectory: c.spoolDirectory)
        var s = try journal.status(configuration: c)
        s.agentRunning = SpoolLock.isHeld(spool: c.spoolDirectory)
        if s.agentRunning, let bytes = try? FileIO.readAll(AgentRuntime.statusPath(spool: c.spoolDirectory), limit: 1 << 20) {
            s.agent = try? JSONDecoder().decode(AgentRuntimeStatus.self, from: Data(bytes))
            if s.site.isEmpty, let a = s.agent { s.site = a.site }
        }
        return s
    }

    /// A human-readable table.
    public func rendered() -> String {
        var out = "site \(site.isEmpty ? "?" : site)   agent \(agentRunning ? "running" : "not running")"
        if let a = agent {
            out += "   link \(a.link.state.rawValue) since \(a.link.since)"
            if let e = a.link.lastError, a.link.state != .up { out += "\n  last error: \(e)" }
            if let s = a.link.lastSuccessAt { out += "\n  last success: \(s)" }
            if let n = a.link.nextAttemptAt, a.link.state != .up { out += "   next attempt: \(n)" }
            if let core = a.core {
                out += "\n  core \(core.url)"
                if core.cores.count > 1 {
                    out += " (\(core.index + 1) of \(core.cores.count)\(core.index == 0 ? ", preferred" : "") since \(core.since))"
                    out += "   failovers \(core.failovers), returns \(core.returns)"
                    if let p = core.nextProbeAt { out += "   next probe of the preferred: \(p)" }
                }
            }
        }
        out += "\n\nstream               prio  pending  bytes          oldest captured-at\n"
        for s in streams {
            out += pad(s.stream, 20) + " " + pad(String(s.priority ?? 0), 5) + " " + pad(String(s.pendingObjects), 8) + " "
                + pad(String(s.pendingBytes), 14) + " " + (s.oldestCapturedAt ?? "-") + "\n"
        }
        out += pad("total", 20) + " " + pad("", 5) + " " + pad(String(pendingObjects), 8) + " " + pad(String(pendingBytes), 14) + " "
            + (oldestCapturedAt ?? "-") + "\n"
        let pct = spool.maxBytes > 0 ? Double(spool.usedBytes) * 100 / Double(spool.maxBytes) : 0
        out += "\nspool: \(spool.usedBytes) of \(spool.maxBytes) bytes (\(pct.fixed(1)) %), \(spool.usedObjects) of \(spool.maxObjects) objects, policy \(spool.fullPolicy), \(spool.batches) batch(es) built\n"
        out += "dropped: \(droppedObjects) objects, \(droppedBytes) bytes   quarantined: \(counters["quarantined_objects"] ?? 0)\n"
        out += "delivered: \(counters["acked_objects"] ?? 0) objects (\(counters["acked_duplicates"] ?? 0) duplicates), \(counters["acked_bytes"] ?? 0) bytes\n"
        func ratio(_ g: SiteReport.Goodput) -> String { g.ratio.map { $0.fixed(3) } ?? "-" }
        out += "goodput: \(ratio(goodput)) total (\(goodput.goodBytes) useful of \(goodput.wireBytes) bytes sent)"
        if let g = agent?.goodput { out += ", \(ratio(g)) this session (\(g.goodBytes) of \(g.wireBytes))" }
        out += "\n"
        for l in agent?.lanes ?? [] {
            out += "lane \(l.lane.rawValue): chunk \(l.chunkBytes) bytes"
            if let f = l.inFlight {
                let pct = f.bytes > 0 ? Double(f.sent) * 100 / Double(f.bytes) : 100
                out += ", in flight: batch \(f.batchID) (\(f.kind), \(f.objects) objects) \(f.sent) of \(f.bytes) bytes (\(pct.fixed(1)) %)"
            }
            out += "\n"
        }
        for q in quarantined.prefix(10) { out += "quarantined: \(q.stream)/\(q.name) (\(q.size) bytes): \(q.reason)\n" }
        return out
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
}
