import Foundation
import Testing
import TributaryDelivery
import TributaryTestKit
@testable import TributaryEdge

/// Credential hygiene (issue 11): token_file, no plain http:// off this machine, the token sent
/// only to the configured core's origin.
@Suite struct EdgeCredentialTests {
    @Test func tokenFileIsReadAndTheConfiguredTokenWins() throws {
        let dir = try TemporaryDirectory()
        let tokenFile = dir.path("token")
        try Data("trb_from_file\n".utf8).write(to: URL(fileURLWithPath: tokenFile))
        let file = dir.path("edge.toml")
        try Data("[edge]\nsite = \"plant-a\"\ntoken_file = \"\(tokenFile)\"\n".utf8).write(to: URL(fileURLWithPath: file))
        #expect(try EdgeConfiguration.load(file: file, environment: [:]).token == "trb_from_file")
        #expect(try EdgeConfiguration.load(file: file, environment: ["TRIBUTARY_TOKEN": "trb_env"]).token == "trb_env")
        try Data("\n".utf8).write(to: URL(fileURLWithPath: tokenFile))
        #expect(throws: ConfigurationError.self) { try EdgeConfiguration.load(file: file, environment: [:]) }
    }

    @Test(arguments: [
        ("http://127.0.0.1:8080", false, true), ("http://localhost:8080", false, true), ("http://[::1]:8080", false, true),
        ("https://core.example.com", false, true), ("http://core.example.com", false, false), ("http://10.0.0.5:8080", false, false),
        ("http://core.example.com", true, true),
    ])
    func plainHTTPOnlyToThisMachineUnlessAllowed(url: String, allow: Bool, accepted: Bool) throws {
        var c = EdgeConfiguration()
        try c.apply(["site": "plant-a", "token": "t", "core_url": url, "allow_insecure_http": allow ? "true" : "false"])
        if accepted {
            try c.validateForRun()
        } else {
            #expect(throws: ConfigurationError.self) { try c.validateForRun() }
        }
    }

    @Test func locationsOnlyOnTheCoresOrigin() throws {
        let base = "https://core.example.com:8443"
        let o = try #require(CoreOrigin(base))
        #expect(o.resolve("/v1/uploads/ab", base: base) == base + "/v1/uploads/ab")
        #expect(o.resolve("https://CORE.example.com:8443/v1/uploads/ab", base: base) == "https://CORE.example.com:8443/v1/uploads/ab")
        #expect(o.resolve("http://core.example.com:8443/v1/uploads/ab", base: base) == nil)  // scheme downgrade
        #expect(o.resolve("https://evil.example.com:8443/v1/uploads/ab", base: base) == nil)
        #expect(o.resolve("https://core.example.com/v1/uploads/ab", base: base) == nil)  // port 443
        #expect(o.resolve("//evil.example.com/v1/uploads/ab", base: base) == nil)
        #expect(o.resolve("https://core.example.com:8443@evil.example.com/x", base: base) == nil)
        #expect(CoreOrigin("https://core.example.com")?.port == 443 && CoreOrigin("http://core.example.com")?.port == 80)
    }

    @Test func clientCertificateNeedsItsKey() {
        var c = EdgeConfiguration()
        #expect(throws: ConfigurationError.self) { try c.apply(["client_cert": "/x.pem"]) }
    }
}
