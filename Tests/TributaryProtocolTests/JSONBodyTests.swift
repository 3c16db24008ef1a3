import Foundation
import Testing
import TributaryProtocol
import TributaryTestKit

@Suite("JSON bodies")
struct JSONBodyTests {
    static let hash = StreamingDigest.sha256Hex([1, 2, 3])

    func body(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test("a have-check body parses")
    func haveParses() throws {
        let r = try HaveRequest.parse(body(#"{"sha256":["\#(Self.hash)"]}"#))
        #expect(r == HaveRequest(sha256: [Self.hash]))
    }

    @Test(
        "malformed have-check bodies are invalid_body",
        arguments: [#"{"sha256":"x"}"#, #"{"sha256":["ABC"]}"#, "[", "", #"{"sha":[]}"#, #"{"sha256":[1]}"#])
    func haveMalformed(text: String) throws {
        let error = #expect(throws: TributaryError.self) { try HaveRequest.parse(body(text)) }
        #expect(error?.code == .invalidBody)
    }

    @Test("a have-check with more than maxHaveCheckHashes hashes is invalid_body")
    func haveTooMany() throws {
        let many = HaveRequest(sha256: Array(repeating: Self.hash, count: WireProtocol.maxHaveCheckHashes + 1))
        let bytes = Array(try JSONEncoder().encode(many))
        let error = #expect(throws: TributaryError.self) { try HaveRequest.parse(bytes) }
        #expect(error?.code == .invalidBody)
        let most = HaveRequest(sha256: Array(repeating: Self.hash, count: WireProtocol.maxHaveCheckHashes))
        #expect(try HaveRequest.parse(Array(try JSONEncoder().encode(most))).sha256.count == WireProtocol.maxHaveCheckHashes)
    }

    @Test("a body past maxJSONBodyBytes is too_large before it is parsed")
    func bodyTooLarge() throws {
        var limits = ParserLimits()
        limits.maxJSONBodyBytes = 10
        let error = #expect(throws: TributaryError.self) { try JSONBody.decode(HaveRequest.self, from: body("{\"sha256\":[]}"), limits: limits) }
        #expect(error?.code == .tooLarge)
        #expect(try JSONBody.decode(HaveRequest.self, from: body("{\"sha256\":[]} "), limits: ParserLimits()).sha256.isEmpty)
    }

    @Test("a heartbeat body decodes through JSONBody; nesting far past any real body is invalid_body")
    func heartbeatNesting() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = #expect(throws: TributaryError.self) { try JSONBody.decode(SiteReport.self, from: body(deep)) }
        #expect(error?.code == .invalidBody)
    }
}
