import Testing
import TributaryProtocol

@testable import TributaryCore

/// The commit path's byte builders (issue 14) give exactly what the String- and
/// Foundation-based code they replaced gave: the lake keys and manifest lines of committed data
/// must not change with a faster build of them.
@Suite("Commit path byte builders")
struct CommitPathBytesTests {
    /// The partition as it was built before: each placeholder replaced in the template's text.
    static func referencePartition(_ template: String, stream: String, site: String, capturedAtUTC: String) -> String {
        let date = String(capturedAtUTC.prefix(10))
        let parts = date.split(separator: "-").map(String.init)
        let hour = String(capturedAtUTC.dropFirst(11).prefix(2))
        return template
            .replacingOccurrences("{stream}", with: stream)
            .replacingOccurrences("{site}", with: site)
            .replacingOccurrences("{date}", with: date)
            .replacingOccurrences("{year}", with: parts.count == 3 ? parts[0] : "")
            .replacingOccurrences("{month}", with: parts.count == 3 ? parts[1] : "")
            .replacingOccurrences("{day}", with: parts.count == 3 ? parts[2] : "")
            .replacingOccurrences("{hour}", with: hour)
    }

    @Test("partitions equal the text replacement for every template piece and odd timestamps")
    func partitionsMatchReference() throws {
        let templates = [
            "stream={stream}/site={site}/date={date}", "{stream}/{site}/{year}/{month}/{day}/{hour}",
            "site={site}/stream={stream}/y={year}/m={month}/d={day}/h={hour}", "{stream}/{site}/{date}/{stream}-{hour}",
            "x{site}y/{stream}{date}", "données/{site}/ü={hour}",
        ]
        let times = ["2026-11-21T10:00:01.120Z", "2026-01-02T03:04:05.000Z", "", "2026", "2026-11-21", "2026-11-21T1", "2026-1-15T1:00Z", "-----------"]
        for t in templates {
            let template = try PartitionTemplate(t)
            for time in times {
                // (Valid stream and site ids hold no braces; the text replacement would have
                // replaced a placeholder inside a value again, the pieces never do.)
                for (stream, site) in [("vibration", "plant-a"), ("s", "x"), ("a.b_c-d", "X")] {
                    #expect(
                        template.partition(stream: stream, site: site, capturedAtUTC: time)
                            == Self.referencePartition(t, stream: stream, site: site, capturedAtUTC: time), "\(t) \(time)")
                }
            }
        }
    }

    @Test("a last key component longer than 255 bytes is cut before its tag, keeping tag and extension")
    func longComponent() throws {
        let sha = "0123456789abcdef" + String(repeating: "f", count: 48)
        let name = "dir/" + String(repeating: "a", count: 400) + ".csv.gz"
        let key = PartitionTemplate.default.key(stream: "s", site: "x", capturedAtUTC: "2026-11-21T10:00:00.000Z", name: name, sha256: sha)
        let last = try #require(key.split(separator: "/").last)
        #expect(last.utf8.count == PartitionTemplate.maxComponentBytes)
        #expect(last.hasSuffix(".0123456789abcdef.csv.gz"))
        #expect(key.hasPrefix("stream=s/site=x/date=2026-11-21/dir/aaaa"))
        // A stem holding the tag itself: the last occurrence is the tag.
        let tricky = String(repeating: "b", count: 300) + ".0123456789abcdef.csv"
        let k2 = PartitionTemplate.default.key(stream: "s", site: "x", capturedAtUTC: "2026-11-21T10:00:00.000Z", name: tricky, sha256: sha)
        #expect(k2.split(separator: "/").last?.utf8.count == PartitionTemplate.maxComponentBytes)
        #expect(k2.hasSuffix(".0123456789abcdef.0123456789abcdef.csv") || k2.hasSuffix("b.0123456789abcdef.csv"))
        #expect(PartitionTemplate.shorten(String(repeating: "c", count: 300), tag: "0123456789abcdef").utf8.count == 255)
    }

    static let awkward = [
        "plain", "", "with \"quotes\" and \\backslash\\", "a/b/c.csv", "tab\tnew\nline\rcr", "\u{08}\u{0c}\u{00}\u{01}\u{1f}\u{7f}",
        "ünïcödé 日本 🚀", "line\u{2028}sep\u{2029}", "</script>", "\u{10}\u{1b}[0m",
    ]

    @Test("a manifest line is byte for byte what JSONEncoder (sorted keys, unescaped slashes) writes")
    func manifestLineMatchesEncoder() throws {
        var records: [ArrivalRecord] = []
        for (i, s) in Self.awkward.enumerated() {
            records.append(
                ArrivalRecord(
                    uploadID: "u-\(s)", seq: i, site: "site-\(i)", stream: "s", name: s, sha256: String(repeating: "a", count: 64),
                    size: UInt64(i) * 1_000_000_007, capturedAt: "2026-11-21T10:00:00.000Z", receivedAt: "2026-11-21T10:00:01.000Z",
                    key: "stream=s/site=x/date=2026-11-21/\(s)", status: i % 2 == 0 ? .stored : .duplicate,
                    relay: i % 3 == 0 ? nil : "relay-\(s)", origin: i % 4 == 0 ? nil : "core-\(s)",
                    path: i % 5 == 0 ? nil : (i % 2 == 0 ? [] : ["a", s, "c"])))
        }
        records.append(
            ArrivalRecord(
                uploadID: "u", seq: Int.max, site: "x", stream: "s", name: "n", sha256: "", size: UInt64.max, capturedAt: "", receivedAt: "",
                key: "", status: .stored))
        for r in records {
            var line: [UInt8] = []
            r.appendJSONLine(to: &line)
            let expected = try JSON.encode(r) + [0x0a]
            #expect(line == expected, "\(String(decoding: line, as: UTF8.self)) != \(String(decoding: expected, as: UTF8.self))")
            #expect(try JSON.decode(ArrivalRecord.self, Array(line.dropLast())) == r)
        }
    }
}
