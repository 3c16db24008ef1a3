#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

/// The fleet view over the catalog: what `GET /v1/sites`, the dashboard, `/metrics` and
/// `sites list` show. Reads only the catalog, so every node (and the CLI) shows the same.
public struct Fleet: Sendable {
    public let catalog: any Catalog
    public let rules: FleetRules
    /// Seconds per backlog history point, and seconds of history kept.
    public let historyStepSeconds: Int
    public let historyRetentionSeconds: Int
    /// The forward target and its RPO, when this core forwards (`[forward]`).
    public let forward: (target: String, rpoSeconds: Double)?

    public init(catalog: any Catalog, configuration c: CoreConfiguration) {
        forward = c.forward.map { ($0.url, $0.rpoSeconds) }
        self.catalog = catalog
        self.rules = c.fleetRules
        self.historyStepSeconds = c.backlogHistoryStepSeconds
        self.historyRetentionSeconds = c.backlogHistorySeconds
    }

    /// Every site; with `historySeconds`, each with its backlog points of that last stretch.
    public func view(now: Date = Date(), historySeconds: Int? = nil) async throws -> FleetView {
        let states = try await catalog.siteStates()
        var history: [String: [BacklogPoint]]? = nil
        if let h = historySeconds {
            history = try await catalog.backlogHistory(site: nil, since: since(now, h))
        }
        let views = states.map { st in SiteView(state: st, rules: rules, now: now, history: history.map { $0[st.site] ?? [] }) }
        var forwards: [ForwardView] = []
        if let f = forward { forwards.append(try await ForwardView.read(catalog, target: f.target, rpoSeconds: f.rpoSeconds, now: now)) }
        return FleetView(sites: views, rules: rules, now: now, forward: forwards)
    }

    /// One site with its whole kept history (or the last `historySeconds`); nil if not registered.
    public func site(_ site: String, now: Date = Date(), historySeconds: Int? = nil) async throws -> SiteView? {
        guard let state = try await catalog.siteState(site) else { return nil }
        let h = try await catalog.backlogHistory(site: site, since: since(now, historySeconds ?? historyRetentionSeconds))
        return SiteView(state: state, rules: rules, now: now, history: h[site] ?? [])
    }

    /// Records a heartbeat received now.
    public func record(site: String, report: SiteReport, now: Date = Date()) async throws {
        try await catalog.recordHeartbeat(
            HeartbeatRecord(site: site, report: report, receivedAt: now, step: historyStepSeconds, retention: historyRetentionSeconds))
    }

    private func since(_ now: Date, _ seconds: Int) -> String {
        Timestamp.format(now.addingTimeInterval(-Double(min(max(0, seconds), historyRetentionSeconds))))
    }
}
