import Testing
import TributaryCore
import TributaryProtocol

@Suite("PartitionTemplate")
struct PartitionTemplateTests {
    static let sha = "0123456789abcdef" + String(repeating: "f", count: 48)

    @Test("default template: stream=/site=/date=")
    func defaultTemplate() {
        let t = PartitionTemplate.default
        #expect(t.template == "stream={stream}/site={site}/date={date}")
        #expect(
            t.partition(stream: "vibration", site: "plant-a", capturedAtUTC: "2026-11-21T10:00:01.120Z")
                == "stream=vibration/site=plant-a/date=2026-11-21")
        #expect(
            t.key(stream: "vibration", site: "plant-a", capturedAtUTC: "2026-11-21T10:00:01.120Z", name: "dir/x y.csv", sha256: Self.sha)
                == "stream=vibration/site=plant-a/date=2026-11-21/dir/x_y.0123456789abcdef.csv")
    }

    @Test("parsing the default's text gives the default")
    func parseDefault() throws {
        #expect(try PartitionTemplate("stream={stream}/site={site}/date={date}") == PartitionTemplate.default)
    }

    @Test("custom keys {year}/{month}/{day}/{hour}")
    func custom() throws {
        let t = try PartitionTemplate("{stream}/{site}/{year}/{month}/{day}/{hour}")
        #expect(t.partition(stream: "s", site: "x", capturedAtUTC: "2026-01-02T03:04:05.000Z") == "s/x/2026/01/02/03")
        #expect(
            t.key(stream: "s", site: "x", capturedAtUTC: "2026-11-21T23:59:59.999Z", name: "log.csv.gz", sha256: Self.sha)
                == "s/x/2026/11/21/23/log.0123456789abcdef.csv.gz")
        let hive = try PartitionTemplate("site={site}/stream={stream}/y={year}/m={month}/d={day}/h={hour}")
        #expect(hive.partition(stream: "s", site: "x", capturedAtUTC: "2026-11-21T10:00:00.000Z") == "site=x/stream=s/y=2026/m=11/d=21/h=10")
    }

    @Test("a placeholder may appear twice")
    func repeated() throws {
        let t = try PartitionTemplate("{stream}/{site}/{date}/{stream}-{hour}")
        #expect(t.partition(stream: "s", site: "x", capturedAtUTC: "2026-11-21T10:00:00.000Z") == "s/x/2026-11-21/s-10")
    }

    @Test(
        "invalid templates are rejected",
        arguments: [
            "", "/stream={stream}", "stream={stream}/", "{unknown}/{stream}", "{stream}/{Site}", "{stream", "stream}",
            "{stream}/../{site}", "..", "_tributary/{stream}", "{stream}/{date}{", "stream={stream}/date={date}",
        ])
    func invalid(template: String) {
        #expect(throws: TributaryError.self) { _ = try PartitionTemplate(template) }
    }
}
