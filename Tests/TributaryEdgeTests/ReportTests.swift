import Foundation
import Testing
import TributaryProtocol
import TributaryTestKit
@testable import TributaryEdge

@Suite struct ReportTests {
    func status() throws -> (EdgeStatus, TemporaryDirectory) {
        let dir = try TemporaryDirectory()
        let j = try Journal(spoolDirectory: dir.root)
        let items = (0..<3).map { i in
            NewObject(stream: i == 0 ? "alarms" : "vib\"x", name: "n\(i)", size: 10, sha256: String(repeating: "a", count: 64),
                      capturedAt: "2026-11-21T10:00:0\(i).000Z", priority: 0, file: "objects/\(i)", compressible: true)
        }
        _ = try j.accept(items, acceptedAt: "t", maxBytes: 1000, maxObjects: 10, policy: .block)
        var c = EdgeConfiguration()
        c.site = "plant-a"
        c.maxSpoolBytes = 1000
        return (try j.status(configuration: c), dir)
    }

    @Test func theReportCarriesWhatStatusShows() throws {
        let (s, _dir) = try status()
        _ = _dir
        let r = s.report(reportedAt: "2026-11-21T10:00:05.000Z")
        #expect(r.pendingObjects == s.pendingObjects && r.pendingBytes == 30 && r.oldestCapturedAt == "2026-11-21T10:00:00.000Z")
        #expect(r.streams.map(\.stream) == ["alarms", "vib\"x"] && r.streams.map(\.pendingObjects) == [1, 2])
        #expect(r.spoolUsedBytes == 30 && r.spoolMaxBytes == 1000 && r.linkState == "connecting")
        let json = String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
        #expect(json.contains("\"pending_objects\":3") && json.contains("\"spool_max_bytes\":1000"))
    }

    @Test func prometheusTextIsWellFormedAndEscaped() throws {
        let (s, _dir) = try status()
        _ = _dir
        let now = try Timestamp.parse("2026-11-21T10:01:00Z").timeIntervalSince1970
        let text = s.prometheusText(now: now)
        #expect(text.contains("tributary_edge_pending_objects{site=\"plant-a\"} 3\n"))
        #expect(text.contains("tributary_edge_pending_objects{site=\"plant-a\",stream=\"vib\\\"x\"} 2\n"))
        #expect(text.contains("tributary_edge_oldest_pending_age_seconds{site=\"plant-a\"} 60.0\n"))
        #expect(text.contains("tributary_edge_link_state{site=\"plant-a\",state=\"stopped\"} 1\n"))
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.split(separator: " ").count == 2, "\(line)")
        }
    }
}
