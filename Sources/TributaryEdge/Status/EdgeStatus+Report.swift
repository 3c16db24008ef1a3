import TributaryProtocol

extension EdgeStatus {
    /// The heartbeat body: the same figures `status` shows.
    public func report(reportedAt: String) -> SiteReport {
        var r = SiteReport(
            agentVersion: tributaryEdgeVersion, reportedAt: reportedAt,
            streams: streams.map { .init(stream: $0.stream, pendingObjects: $0.pendingObjects, pendingBytes: $0.pendingBytes, oldestCapturedAt: $0.oldestCapturedAt) },
            pendingObjects: pendingObjects, pendingBytes: pendingBytes, oldestCapturedAt: oldestCapturedAt,
            spoolUsedBytes: spool.usedBytes, spoolMaxBytes: spool.maxBytes, spoolUsedObjects: spool.usedObjects,
            spoolMaxObjects: spool.maxObjects, droppedObjects: droppedObjects, droppedBytes: droppedBytes,
            quarantinedObjects: counters["quarantined_objects"] ?? 0, linkState: agent?.link.state.rawValue ?? "connecting",
            lastError: agent?.link.lastError, lastSuccessAt: agent?.link.lastSuccessAt)
        r.quarantined = quarantined.prefix(SiteReport.maxQuarantinedListed).map {
            var q = $0
            q.reason = String(q.reason.prefix(1000))
            return q
        }
        r.goodput = goodput
        r.sessionGoodput = agent?.goodput
        if let lanes = agent?.lanes, !lanes.isEmpty {
            r.chunkBytes = Dictionary(uniqueKeysWithValues: lanes.map { ($0.lane.rawValue, $0.chunkBytes) })
        }
        return r
    }

    /// Prometheus text exposition (for node_exporter's textfile collector).
    public func prometheusText(now: Double) -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for s in samples { out += "\(name)\(s.labels.isEmpty ? "" : "{\(s.labels)}") \(s.value)\n" }
        }
        func esc(_ s: String) -> String {
            var o = ""
            for c in s {
                switch c {
                case "\\": o += "\\\\"
                case "\"": o += "\\\""
                case "\n": o += "\\n"
                default: o.append(c)
                }
            }
            return o
        }
        func age(_ ts: String?) -> String {
            guard let ts, let d = try? Timestamp.parse(ts) else { return "0" }
            return String(max(0, now - d.timeIntervalSince1970))
        }
        let site = "site=\"\(esc(self.site))\""
        metric("tributary_edge_pending_objects", "gauge", "Objects accepted and not yet acknowledged by the core.",
               [(site, String(pendingObjects))] + streams.map { ("\(site),stream=\"\(esc($0.stream))\"", String($0.pendingObjects)) })
        metric("tributary_edge_pending_bytes", "gauge", "Bytes of the pending objects.",
               [(site, String(pendingBytes))] + streams.map { ("\(site),stream=\"\(esc($0.stream))\"", String($0.pendingBytes)) })
        metric("tributary_edge_oldest_pending_age_seconds", "gauge", "Age of the oldest pending object's captured-at (0 when none).",
               [(site, pendingObjects > 0 ? age(oldestCapturedAt) : "0")])
        metric("tributary_edge_spool_used_bytes", "gauge", "Spool use in bytes.", [(site, String(spool.usedBytes))])
        metric("tributary_edge_spool_max_bytes", "gauge", "Spool limit in bytes.", [(site, String(spool.maxBytes))])
        metric("tributary_edge_dropped_objects_total", "counter", "Objects evicted by drop-oldest.", [(site, String(droppedObjects))])
        metric("tributary_edge_dropped_bytes_total", "counter", "Bytes evicted by drop-oldest.", [(site, String(droppedBytes))])
        metric("tributary_edge_quarantined_objects_total", "counter", "Objects quarantined (corrupt in the spool or refused).",
               [(site, String(counters["quarantined_objects"] ?? 0))])
        metric("tributary_edge_delivered_objects_total", "counter", "Objects the core acknowledged (stored or duplicate).",
               [(site, String(counters["acked_objects"] ?? 0))])
        metric("tributary_edge_delivered_bytes_total", "counter", "Bytes of the acknowledged objects.",
               [(site, String(counters["acked_bytes"] ?? 0))])
        metric("tributary_edge_wire_bytes_total", "counter", "Request-body bytes put on the wire (PATCH), kept or lost.",
               [(site, String(goodput.wireBytes))])
        metric("tributary_edge_good_bytes_total", "counter", "Bytes of those the core kept (chunks it took).",
               [(site, String(goodput.goodBytes))])
        metric("tributary_edge_goodput_ratio", "gauge", "good ÷ wire bytes, since the spool was created (scope=total) and this agent started (scope=session).",
               [("\(site),scope=\"total\"", String(goodput.ratio ?? 1))]
               + (agent?.goodput.map { [("\(site),scope=\"session\"", String($0.ratio ?? 1))] } ?? []))
        if let lanes = agent?.lanes, !lanes.isEmpty {
            metric("tributary_edge_chunk_bytes", "gauge", "PATCH size of each upload lane now (adapts to the link).",
                   lanes.map { ("\(site),lane=\"\($0.lane.rawValue)\"", String($0.chunkBytes)) })
        }
        let state = agent?.link.state.rawValue ?? "stopped"
        metric("tributary_edge_link_state", "gauge", "1 for the link's current state.",
               ["connecting", "up", "backing-off", "down", "stopped"].map { ("\(site),state=\"\($0)\"", $0 == state ? "1" : "0") })
        if let core = agent?.core {
            metric("tributary_edge_core_current", "gauge", "1 for the core the agent sends to now, 0 for the other configured cores.",
                   core.cores.enumerated().map { ("\(site),core=\"\(esc($0.element))\",preference=\"\($0.offset)\"", $0.offset == core.index ? "1" : "0") })
            metric("tributary_edge_core_switches_total", "counter", "Changes of core since the agent started: away from an unreachable one, back to a preferred one.",
                   [("\(site),reason=\"unreachable\"", String(core.failovers)), ("\(site),reason=\"preferred\"", String(core.returns))])
        }
        if let s = agent?.link.lastSuccessAt, let d = try? Timestamp.parse(s) {
            metric("tributary_edge_last_success_timestamp_seconds", "gauge", "When the core last answered.", [(site, String(d.timeIntervalSince1970))])
        }
        return out
    }
}
