import Foundation
import Testing
@testable import TributaryCore

@Suite("Fleet metrics exposition")
struct FleetMetricsTests {
    @Test("labels are escaped; a never-seen site has +Inf last-seen age and no backlog samples")
    func render() {
        let now = Date(timeIntervalSince1970: 1_795_255_200)
        var seen = SiteState(site: "plant-a", createdAt: "2026-11-01T00:00:00.000Z")
        seen.lastSeen = "2026-11-21T09:59:58.000Z"
        seen.report = FleetRulesTests.report(pending: 2, oldest: "2026-11-21T09:59:00.000Z")
        seen.rejections = ["weird\"code": 1]
        let never = SiteState(site: "plant-b", createdAt: "2026-11-01T00:00:00.000Z")
        let view = FleetView(sites: [seen, never].map { SiteView(state: $0, rules: FleetRules(), now: now) }, rules: FleetRules(), now: now)
        let text = FleetMetrics.render(view)
        #expect(text.contains("tributary_site_backlog_objects{site=\"plant-a\"} 2\n"))
        #expect(!text.contains("tributary_site_backlog_objects{site=\"plant-b\"}"))
        #expect(text.contains("tributary_site_last_seen_age_seconds{site=\"plant-b\"} +Inf\n"))
        #expect(text.contains("tributary_site_last_seen_age_seconds{site=\"plant-a\"} 2\n"))
        #expect(text.contains("tributary_site_oldest_pending_age_seconds{site=\"plant-a\"} 60\n"))
        #expect(text.contains("tributary_site_rejections_total{site=\"plant-a\",reason=\"weird\\\"code\"} 1\n"))
        #expect(text.contains("tributary_site_status{site=\"plant-b\",status=\"offline\"} 1\n"))
        #expect(text.contains("tributary_site_ingest_lag_seconds_bucket{site=\"plant-a\",le=\"+Inf\"} 0\n"))
    }
}
