import Foundation
import Testing
import TributaryTestKit
@testable import TributaryEdge

@Suite struct EdgeConfigurationTests {
    @Test func tomlThenEnvironmentThenFlags() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path("edge.toml")
        try Data("""
            [edge]
            site = "plant-a"
            token = "t1"
            max_spool_bytes = 1000
            full_policy = "drop-oldest"
            priorities = { alarms = 10, vibration = 5 }
            bandwidth_schedule = [ { from = "08:00", to = "18:00", bytes_per_second = 50000 } ]
            """.utf8).write(to: URL(fileURLWithPath: file))
        var c = try EdgeConfiguration.load(file: file, environment: ["TRIBUTARY_TOKEN": "t2", "TRIBUTARY_CHUNK_BYTES": "4096"])
        #expect(c.site == "plant-a" && c.token == "t2" && c.chunkBytes == 4096 && c.maxSpoolBytes == 1000)
        #expect(c.fullPolicy == .dropOldest && c.priorities == ["alarms": 10, "vibration": 5])
        #expect(c.bandwidthSchedule.windows.count == 1)
        try c.apply(["site": "plant-b"])
        #expect(c.site == "plant-b")
        try c.validateForRun()
    }

    @Test(arguments: [
        ["full_policy": "drop-newest"], ["max_spool_bytes": "-1"], ["core_url": "ftp://x"], ["default_stream": "a b"],
        ["priorities": "alarms"], ["zstd_level": "30"], ["inotify": "yes"],
    ])
    func badValuesAreRefused(_ values: [String: String]) {
        #expect(throws: ConfigurationError.self) {
            var c = EdgeConfiguration()
            try c.apply(values)
        }
    }

    @Test func unknownKeysAndMissingIdentityAreRefused() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path("edge.toml")
        try Data("sitee = \"x\"\n".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: ConfigurationError.self) { try EdgeConfiguration.load(file: file, environment: [:]) }
        #expect(throws: ConfigurationError.self) { try EdgeConfiguration().validateForRun() }
    }
}

@Suite struct ShippedEdgeConfigurationTests {
    @Test func theExampleConfigLoadsAndSaysWhatItsCommentsSay() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let c = try EdgeConfiguration.load(file: repo.appendingPathComponent("edge/tributary-edge.toml").path, environment: [:])
        #expect(c.site == "plant-a" && c.fullPolicy == .block && c.priorities == ["alarms": 10])
        #expect(c.bandwidthSchedule.rate(atMinute: 9 * 60, otherwise: 0) == 250_000)
        let defaults = EdgeConfiguration()
        #expect(c.maxSpoolBytes == defaults.maxSpoolBytes && c.chunkBytes == defaults.chunkBytes && c.segmentMaxBytes == defaults.segmentMaxBytes)
        #expect(c.largeObjectBytes == defaults.largeObjectBytes && c.retryCapMilliseconds == defaults.retryCapMilliseconds)
    }
}

@Suite struct S3SourceSettingsTests {
    @Test func sourcesAreReadFromTheFileWithCredentialsFromTheEnvironment() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path("edge.toml")
        try Data("""
            [edge]
            site = "plant-a"
            default_stream = "misc"

            [[source]]
            name = "cams"
            type = "s3"
            endpoint = "http://127.0.0.1:8333/"
            bucket = "site-data"
            prefix = "incoming/"
            poll_seconds = 5
            after = "delete"
            """.utf8).write(to: URL(fileURLWithPath: file))
        let c = try EdgeConfiguration.load(file: file, environment: ["AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"])
        #expect(c.sources.count == 1)
        let s = try #require(c.sources.first)
        #expect(s.name == "cams" && s.endpoint == "http://127.0.0.1:8333" && s.bucket == "site-data" && s.prefix == "incoming")
        #expect(s.after == .delete && s.pollSeconds == 5 && s.stream == "misc" && s.streamFromPrefix && s.accessKeyID == "id")
        #expect(!"\(s)".contains("secret"))
        #expect(throws: ConfigurationError.self) { try EdgeConfiguration.load(file: file, environment: [:]) }
    }

    @Test(arguments: [
        "type = \"s3\"\nendpoint = \"http://h\"\nbucket = \"b-1\"",  // no name
        "name = \"x\"\ntype = \"ftp\"\nendpoint = \"http://h\"\nbucket = \"b-1\"",
        "name = \"x\"\ntype = \"s3\"\nendpoint = \"h:1\"\nbucket = \"b-1\"",
        "name = \"x\"\ntype = \"s3\"\nendpoint = \"http://h\"\nbucket = \"B\"",
        "name = \"x\"\ntype = \"s3\"\nendpoint = \"http://h\"\nbucket = \"b-1\"\nafter = \"move\"",
        "name = \"x\"\ntype = \"s3\"\nendpoint = \"http://h\"\nbucket = \"b-1\"\npoll_seconds = 0",
        "name = \"x\"\ntype = \"s3\"\nendpoint = \"http://h\"\nbucket = \"b-1\"\nbukket = \"typo\"",
    ])
    func badSourcesAreRefused(_ entry: String) throws {
        let dir = try TemporaryDirectory()
        let file = dir.path("edge.toml")
        try Data("site = \"p\"\n[[source]]\n\(entry)\n".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: ConfigurationError.self) {
            try EdgeConfiguration.load(file: file, environment: ["AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "s"])
        }
    }
}

@Suite struct EdgeCoreListTests {
    func load(_ toml: String, env: [String: String] = [:]) throws -> EdgeConfiguration {
        let dir = try TemporaryDirectory()
        let file = dir.path("edge.toml")
        try Data(toml.utf8).write(to: URL(fileURLWithPath: file))
        return try EdgeConfiguration.load(file: file, environment: env)
    }

    @Test func aListOfCoresInTOMLAStringStillWorks() throws {
        var c = try load(#"core = ["https://a.example/", "https://b.example:8443"]"#)
        #expect(c.coreURLs == ["https://a.example", "https://b.example:8443"] && c.coreURL == "https://a.example")
        c = try load(#"core = "https://a.example""#)
        #expect(c.coreURLs == ["https://a.example"])
        c = try load(#"core_url = "https://a.example""#)
        #expect(c.coreURLs == ["https://a.example"])
        c = try load("[edge]\ncore_url = [\"https://a.example\", \"https://b.example\"]\nfailover_after_seconds = 2\nfailback_probe_seconds = 5")
        #expect(c.coreURLs.count == 2 && c.failoverAfterSeconds == 2 && c.failbackProbeSeconds == 5)
    }

    @Test func theEnvironmentAndFlagsOverrideTheFileCommaSeparated() throws {
        var c = try load(#"core = ["https://a.example"]"#, env: ["TRIBUTARY_CORE_URL": "https://x.example, https://y.example"])
        #expect(c.coreURLs == ["https://x.example", "https://y.example"])
        c = try load(#"core_url = "https://a.example""#, env: ["TRIBUTARY_CORE": "https://z.example"])
        #expect(c.coreURLs == ["https://z.example"])
        try c.apply(["core_url": "http://127.0.0.1:1,http://127.0.0.1:2"])
        #expect(c.coreURLs == ["http://127.0.0.1:1", "http://127.0.0.1:2"])
    }

    @Test func badCoreListsAreRefused() throws {
        #expect(throws: ConfigurationError.self) { try load("core = \"https://a.example\"\ncore_url = \"https://b.example\"") }
        #expect(throws: ConfigurationError.self) { try load("core = [1, 2]") }
        #expect(throws: ConfigurationError.self) { try load("core = []") }
        #expect(throws: ConfigurationError.self) { try load(#"core = ["https://a.example", "ftp://b.example"]"#) }
        #expect(throws: ConfigurationError.self) { try load("failover_after_seconds = -1") }
        for list in ["https://a.example,https://A.example:443/", "http://10.0.0.1", "https://a.example,http://10.0.0.2:8080"] {
            #expect(throws: ConfigurationError.self) {
                var c = EdgeConfiguration()
                try c.apply(["site": "s", "token": "t", "core_url": list])
                try c.validateForRun()
            }
        }
    }
}
