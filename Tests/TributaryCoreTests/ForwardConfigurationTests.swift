import Testing
import TributaryFiles
import TributarySettings
import TributaryTestKit
@testable import TributaryCore

/// `[forward]` in the TOML, TRIBUTARY_FORWARD_* and the serve flags (Forward/ForwardConfiguration.swift).
struct ForwardConfigurationTests {
    func load(_ toml: String, env: [String: String] = [:], flags: [String: String] = [:]) throws -> CoreConfiguration {
        let dir = try TemporaryDirectory(prefix: "tributary-forward-config")
        try FileIO.atomicWrite(dir.path("token"), Array("trb_from_file\n".utf8))
        let file = dir.path("core.toml")
        try FileIO.atomicWrite(file, Array(toml.replacingOccurrences("TOKENFILE", with: dir.path("token")).utf8))
        var c = try CoreConfiguration.load(file: file, environment: env)
        try c.apply(flags)
        try c.validateForward()
        return c
    }

    @Test func aForwardTableWithItsKeys() throws {
        let c = try load("""
            [core]
            listen = "127.0.0.1:9000"
            core_id = "core-eu"
            [forward]
            url = "https://central.example:8443/"
            token_file = "TOKENFILE"
            rpo_seconds = 120
            bandwidth_bytes_per_second = 50000
            bandwidth_schedule = "08:00-18:00=1000"
            max_strikes = 3
            """)
        let f = try #require(c.forward)
        #expect(f.url == "https://central.example:8443" && f.token == "trb_from_file")
        #expect(f.rpoSeconds == 120 && f.bandwidthBytesPerSecond == 50_000 && f.maxStrikes == 3)
        #expect(f.bandwidthSchedule.rate(atMinute: 9 * 60, otherwise: 0) == 1000)
        #expect(c.coreID == "core-eu")
    }

    @Test func flagsAndEnvironmentCompleteOrOverrideTheFile() throws {
        let c = try load("[core]\n[forward]\nrpo_seconds = 60\n", env: ["TRIBUTARY_FORWARD_TOKEN": "trb_env"],
                         flags: ["forward_url": "http://127.0.0.1:8081"])
        #expect(c.forward?.url == "http://127.0.0.1:8081" && c.forward?.token == "trb_env" && c.forward?.rpoSeconds == 60)
        #expect(try load("[core]\n").forward == nil)
    }

    @Test func mistakesAreRefusedAtStart() {
        #expect(throws: ConfigurationError.self) { try load("[core]\n[forward]\nrpo_seconds = 60\n") }  // no url
        #expect(throws: ConfigurationError.self) { try load("[core]\n[forward]\nurl = \"https://c:1\"\n") }  // no token
        #expect(throws: ConfigurationError.self) { try load("[core]\n[forward]\nurl = \"http://central:8080\"\ntoken = \"t\"\n") }  // plain http off-host
        #expect(throws: ConfigurationError.self) { try load("[core]\n[forward]\nurl = \"ftp://c\"\ntoken = \"t\"\n") }
        #expect(throws: ConfigurationError.self) { try load("[core]\n[forward]\nurl = \"https://c:1\"\ntoken = \"t\"\nrpo = 5\n") }  // unknown key
        #expect(throws: ConfigurationError.self) { try load("[core]\n[forward]\nurl = \"https://c:1\"\ntoken = \"t\"\nrpo_seconds = 0\n") }
        #expect(throws: ConfigurationError.self) { try load("[core]\ncore_id = \"../x\"\n") }
    }
}
