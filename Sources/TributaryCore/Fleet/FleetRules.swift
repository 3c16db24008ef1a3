#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A site's status as the fleet view shows it.
public enum SiteHealth: String, Sendable, Codable, CaseIterable {
    case healthy
    case lagging
    case offline
    case dropping
}

/// The status rule (docs/PROTOCOL.md, "Fleet"), first match wins:
/// 1. **offline** — nothing heard from the site (no heartbeat, no commit, no refused upload) for
///    more than `offlineAfterSeconds`, or never. Its last known backlog is still shown.
/// 2. **dropping** — a heartbeat within the last `droppingWindowSeconds` reported a higher
///    drop counter than the report before it (the edge evicted data under `drop-oldest`).
/// 3. **lagging** — objects are pending and the oldest was captured more than
///    `laggingAfterSeconds` ago.
/// 4. **healthy** — otherwise.
/// A pure function of the stored state and `now`, so every node and the CLI agree.
public struct FleetRules: Sendable, Equatable {
    public var offlineAfterSeconds: Double = 300
    public var laggingAfterSeconds: Double = 900
    public var droppingWindowSeconds: Double = 3600

    public init(offlineAfterSeconds: Double = 300, laggingAfterSeconds: Double = 900, droppingWindowSeconds: Double = 3600) {
        self.offlineAfterSeconds = offlineAfterSeconds
        self.laggingAfterSeconds = laggingAfterSeconds
        self.droppingWindowSeconds = droppingWindowSeconds
    }

    /// The status and a short reason an operator can read.
    public func health(lastSeen: Date?, pendingObjects: Int, oldestPending: Date?, dropsChangedAt: Date?, now: Date) -> (SiteHealth, String) {
        guard let lastSeen else { return (.offline, "never seen") }
        let silent = now.timeIntervalSince(lastSeen)
        if silent > offlineAfterSeconds { return (.offline, "silent for \(Self.duration(silent))") }
        if let d = dropsChangedAt, now.timeIntervalSince(d) <= droppingWindowSeconds {
            return (.dropping, "the edge dropped objects \(Self.duration(max(0, now.timeIntervalSince(d)))) ago")
        }
        if pendingObjects > 0, let oldest = oldestPending, now.timeIntervalSince(oldest) > laggingAfterSeconds {
            return (.lagging, "oldest pending object captured \(Self.duration(now.timeIntervalSince(oldest))) ago")
        }
        return (.healthy, pendingObjects > 0 ? "delivering" : "nothing pending")
    }

    /// `42s`, `7m12s`, `3h05m`, `2d04h`.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(max(0, seconds).rounded(.down))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        if s < 86_400 { return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m" }
        return "\(s / 86_400)d\(String(format: "%02d", (s % 86_400) / 3600))h"
    }
}
