#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `tributary-core sites list` as a table: the same figures as `GET /v1/sites`.
public enum FleetTable {
    public static let header = ["SITE", "STATUS", "PENDING", "BYTES", "OLDEST PENDING", "LAG P50/P95", "LAST SEEN", "DROPPED", "STORED"]

    public static func rows(_ view: FleetView) -> [[String]] {
        view.sites.map { s in
            [
                s.site, s.status.rawValue,
                s.pendingObjects.map(String.init) ?? "-",
                s.pendingBytes.map(bytes) ?? "-",
                s.pendingObjects == nil ? "-" : (s.pendingObjects! > 0 ? s.oldestPendingSeconds.map { FleetRules.duration($0) } ?? "-" : "-"),
                s.ingestLag.count == 0 ? "-" : "\(bound(s.ingestLag.p50Seconds))/\(bound(s.ingestLag.p95Seconds))",
                s.secondsSinceSeen.map { FleetRules.duration($0) + " ago" } ?? "never",
                s.droppedObjects.map(String.init) ?? "-",
                String(s.objectsStored),
            ]
        }
    }

    /// Left-aligned columns two spaces apart.
    public static func render(_ view: FleetView) -> String {
        let all = [header] + rows(view)
        var widths = Array(repeating: 0, count: header.count)
        for r in all { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for r in all {
            var line = ""
            for (i, c) in r.enumerated() {
                line += i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count + 2)
            }
            out += line + "\n"
        }
        return out
    }

    /// `≤5s`, `>1d` — a lag quantile is known to its bucket.
    static func bound(_ d: Double?) -> String {
        guard let d else { return "-" }
        return d.isInfinite ? ">1d" : "≤" + FleetRules.duration(d)
    }

    /// 1024-based with one decimal: `0 B`, `512 B`, `1.5 KiB`, `12.0 MiB`.
    public static func bytes(_ n: UInt64) -> String {
        if n < 1024 { return "\(n) B" }
        var v = Double(n)
        for unit in ["KiB", "MiB", "GiB", "TiB", "PiB"] {
            v /= 1024
            if v < 1024 || unit == "PiB" { return String(format: "%.1f %@", v, unit) }
        }
        return "\(n) B"
    }
}
