#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

/// The per-site part of `/metrics`, computed from the catalog at scrape time (so every node
/// answers the same figures, offline sites included). Prometheus text format 0.0.4. Names:
///
/// gauges   tributary_site_status{site,status}              1 for the site's status, 0 for the others
///          tributary_site_backlog_objects{site}            pending objects in the edge's last report
///          tributary_site_backlog_bytes{site}
///          tributary_site_oldest_pending_age_seconds{site} now − oldest pending captured-at (0 when none)
///          tributary_site_last_seen_age_seconds{site}      now − last heartbeat/commit (+Inf: never)
///          tributary_site_spool_fullness_ratio{site}       the fuller of spool bytes and objects, 0…1
///          tributary_site_spool_used_bytes{site}, tributary_site_spool_max_bytes{site}
/// counters tributary_site_objects_received_total{site}, tributary_site_bytes_received_total{site}
///          tributary_site_objects_stored_total{site}, tributary_site_bytes_stored_total{site}
///          tributary_site_duplicates_total{site}
///          tributary_site_rejections_total{site,reason}   refused uploads by error code
///          tributary_site_dropped_objects_total{site}      as the edge reports them (drop-oldest)
///          tributary_site_dropped_bytes_total{site}
/// histogram tributary_site_ingest_lag_seconds{site}        received_at − captured_at per arrival
///
/// Sites that never reported have no backlog or spool samples. These are fleet-wide figures:
/// every node reports the same, so aggregate across nodes with `max`, not `sum`.
public enum FleetMetrics {
    public static func render(_ view: FleetView) -> String {
        var out = PrometheusText()
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out.family(name, type, help, samples)
        }
        let sites = view.sites
        func site(_ s: SiteView) -> String { PrometheusText.label("site", s.site) }
        func each(_ value: (SiteView) -> String?) -> [(labels: String, value: String)] {
            sites.compactMap { s in value(s).map { (site(s), $0) } }
        }
        let number = PrometheusText.number

        family("tributary_site_status", "gauge", "1 for the site's current status (healthy, lagging, offline, dropping).",
               sites.flatMap { s in SiteHealth.allCases.map { ("\(site(s)),status=\"\($0.rawValue)\"", s.status == $0 ? "1" : "0") } })
        family("tributary_site_backlog_objects", "gauge", "Objects pending at the edge, as of its last report.", each { $0.pendingObjects.map(String.init) })
        family("tributary_site_backlog_bytes", "gauge", "Bytes pending at the edge, as of its last report.", each { $0.pendingBytes.map(String.init) })
        family("tributary_site_oldest_pending_age_seconds", "gauge", "Age of the oldest pending object's captured-at (0 when nothing is pending).",
               each { $0.oldestPendingSeconds.map(number) })
        family("tributary_site_last_seen_age_seconds", "gauge", "Seconds since the last heartbeat, commit or refused upload (+Inf: never).",
               each { $0.secondsSinceSeen.map(number) ?? "+Inf" })
        family("tributary_site_spool_fullness_ratio", "gauge", "Spool use of the edge, the fuller of bytes and objects (0 to 1).",
               each { $0.spoolFullness.map(number) })
        family("tributary_site_spool_used_bytes", "gauge", "Spool bytes in use at the edge.", each { $0.spoolUsedBytes.map(String.init) })
        family("tributary_site_spool_max_bytes", "gauge", "Spool byte limit of the edge.", each { $0.spoolMaxBytes.map(String.init) })
        family("tributary_site_objects_received_total", "counter", "Objects the core received from the site (stored and duplicate).",
               each { String($0.objectsReceived) })
        family("tributary_site_bytes_received_total", "counter", "Bytes of the objects received.", each { String($0.bytesReceived) })
        family("tributary_site_objects_stored_total", "counter", "Objects whose content was new and stored in the lake.",
               each { String($0.objectsStored) })
        family("tributary_site_bytes_stored_total", "counter", "Bytes stored in the lake.", each { String($0.bytesStored) })
        family("tributary_site_duplicates_total", "counter", "Objects whose content the site had already delivered.",
               each { String($0.duplicates) })
        family("tributary_site_rejections_total", "counter", "Uploads the core refused, by error code.",
               sites.flatMap { s in s.rejections.sorted { $0.key < $1.key }.map { ("\(site(s)),\(PrometheusText.label("reason", $0.key))", String($0.value)) } })
        family("tributary_site_dropped_objects_total", "counter", "Objects the edge evicted from a full spool (drop-oldest), as it reports.",
               each { $0.droppedObjects.map(String.init) })
        family("tributary_site_dropped_bytes_total", "counter", "Bytes the edge evicted from a full spool, as it reports.",
               each { $0.droppedBytes.map(String.init) })
        out.header("tributary_site_ingest_lag_seconds", "histogram", "Received-at minus captured-at of each arrival.")
        for s in sites {
            for b in s.ingestLag.buckets {
                out.sample("tributary_site_ingest_lag_seconds_bucket", "\(site(s)),le=\"\(b.le)\"", String(b.count))
            }
            out.sample("tributary_site_ingest_lag_seconds_sum", site(s), number(s.ingestLag.sumSeconds))
            out.sample("tributary_site_ingest_lag_seconds_count", site(s), String(s.ingestLag.count))
        }
        let forwards = view.forward
        func target(_ f: ForwardView) -> String { PrometheusText.label("target", f.target) }
        func eachTarget(_ value: (ForwardView) -> String?) -> [(labels: String, value: String)] {
            forwards.compactMap { f in value(f).map { (target(f), $0) } }
        }
        if !forwards.isEmpty {
            family("tributary_forward_lag_seconds", "gauge", "Age of the oldest committed upload not yet forwarded to the target (0 when caught up).",
                   eachTarget { number($0.lagSeconds) })
            family("tributary_forward_rpo_seconds", "gauge", "The recovery-point objective configured for the target (rpo_seconds).",
                   eachTarget { number($0.rpoSeconds) })
            family("tributary_forward_uploads_behind", "gauge", "Committed uploads not yet forwarded.", eachTarget { String($0.uploadsBehind) })
            family("tributary_forward_objects_behind", "gauge", "Arrivals of the uploads not yet forwarded.", eachTarget { String($0.objectsBehind) })
            family("tributary_forward_bytes_behind", "gauge", "Bytes of the arrivals not yet forwarded.", eachTarget { String($0.bytesBehind) })
            family("tributary_forward_last_success_timestamp_seconds", "gauge", "Unix time of the last upload the target acknowledged.",
                   eachTarget { $0.lastSuccessUnixSeconds.map(number) })
            family("tributary_forward_set_aside_total", "counter", "Uploads given up on for the target (with their reason in forward_set_aside).",
                   eachTarget { String($0.setAside) })
        }
        return out.text
    }
}
