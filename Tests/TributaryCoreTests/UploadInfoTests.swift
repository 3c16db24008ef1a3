import Foundation
import Testing
import TributaryCore
import TributaryProtocol

@Suite("UploadInfo.fromMetadata")
struct UploadInfoTests {
    static let now = Date(timeIntervalSince1970: 1_795_255_200)
    static let id = String(repeating: "ab", count: 16)
    static let sha = String(repeating: "0a", count: 32)

    func info(_ values: [String: String], length: UInt64 = 10) throws -> UploadInfo {
        let m = UploadMetadata(values)
        return try UploadInfo.fromMetadata(m, header: m.headerValue, id: Self.id, site: "plant-a", length: length, now: Self.now, expiry: .seconds(3600))
    }

    func expectCode(_ code: TributaryError.Code, _ values: [String: String], sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: TributaryError.self, sourceLocation: sourceLocation) { _ = try info(values) }
        #expect(error?.code == code, "got \(error.map { "\($0)" } ?? "nothing")", sourceLocation: sourceLocation)
    }

    @Test("an object with every key")
    func fullObject() throws {
        let i = try info([
            "name": "dir/a.csv", "stream": "vibration", "encoding": "zstd", "sha256": Self.sha, "captured-at": "2026-11-21T12:00:00+02:00",
            "filename": "a.csv", "filetype": "text/csv", "type": "x", "content-type": "text/csv",
        ])
        #expect(i.id == Self.id)
        #expect(i.site == "plant-a")
        #expect(i.length == 10)
        #expect(i.kind == .object)
        #expect(i.encoding == .zstd)
        #expect(i.name == "dir/a.csv")
        #expect(i.stream == "vibration")
        #expect(i.sha256 == Self.sha)
        #expect(i.capturedAt == "2026-11-21T10:00:00.000Z", "normalized to UTC")
        #expect(i.createdAt == Self.now)
        #expect(i.expiresAt == Self.now.addingTimeInterval(3600))
        #expect(i.metadataHeader.contains("name ZGlyL2EuY3N2"), "the header is kept as received")
    }

    @Test("defaults: kind object, encoding identity, no sha256, no captured-at")
    func defaults() throws {
        let i = try info(["name": "a.csv", "stream": "s"])
        #expect(i.kind == .object)
        #expect(i.encoding == .identity)
        #expect(i.sha256 == nil)
        #expect(i.capturedAt == nil)
    }

    @Test("a segment: encoding defaults to zstd; zstd is accepted; identity is not")
    func segment() throws {
        let s = try info(["kind": "segment"])
        #expect(s.kind == .segment)
        #expect(s.encoding == .zstd)
        #expect(s.name == nil && s.stream == nil)
        #expect(try info(["kind": "segment", "encoding": "zstd", "sha256": Self.sha]).sha256 == Self.sha)
        expectCode(.unsupportedEncoding, ["kind": "segment", "encoding": "identity"])
    }

    @Test("a segment may not carry captured-at (entries carry their own)")
    func segmentCapturedAt() {
        expectCode(.invalidMetadata, ["kind": "segment", "captured-at": "2026-11-21T10:00:00Z"])
    }

    @Test("unknown kind and encoding")
    func unsupported() {
        expectCode(.unsupportedKind, ["kind": "zip", "name": "a", "stream": "s"])
        expectCode(.unsupportedKind, ["kind": "Object", "name": "a", "stream": "s"])
        expectCode(.unsupportedEncoding, ["encoding": "gzip", "name": "a", "stream": "s"])
        expectCode(.unsupportedEncoding, ["encoding": "", "name": "a", "stream": "s"])
    }

    @Test("an unknown metadata key")
    func unknownKey() {
        expectCode(.invalidMetadata, ["name": "a", "stream": "s", "colour": "blue"])
    }

    @Test("an object needs a valid name and stream")
    func nameAndStream() {
        expectCode(.invalidName, ["stream": "s"])
        expectCode(.invalidStream, ["name": "a.csv"])
        expectCode(.invalidName, ["name": "../a.csv", "stream": "s"])
        expectCode(.invalidName, ["name": "", "stream": "s"])
        expectCode(.invalidName, ["name": "/a", "stream": "s"])
        expectCode(.invalidStream, ["name": "a.csv", "stream": "bad stream"])
        expectCode(.invalidStream, ["name": "a.csv", "stream": ""])
    }

    @Test("sha256 must be 64 lowercase hex digits", arguments: ["", "abc", String(repeating: "A", count: 64), String(repeating: "a", count: 65)])
    func badSHA(sha: String) {
        expectCode(.invalidMetadata, ["name": "a", "stream": "s", "sha256": sha])
    }

    @Test("captured-at must be an RFC 3339 instant", arguments: ["", "yesterday", "2026-11-21", "2026-11-21T10:00:00"])
    func badCapturedAt(text: String) {
        expectCode(.invalidTimestamp, ["name": "a", "stream": "s", "captured-at": text])
    }

    @Test(
        "captured-at keeps its milliseconds when normalized to UTC",
        arguments: [
            ("2026-11-21T10:00:00.002Z", "2026-11-21T10:00:00.002Z"),
            ("2026-11-21T12:00:00.005+02:00", "2026-11-21T10:00:00.005Z"),
        ])
    func capturedAtMilliseconds(text: String, normalized: String) throws {
        let i = try info(["name": "a", "stream": "s", "captured-at": text])
        #expect(i.capturedAt == normalized)
    }

    @Test("UploadInfo survives a JSON round trip (info.json)")
    func codable() throws {
        let i = try info(["name": "a.csv", "stream": "s", "captured-at": "2026-11-21T10:00:00Z"])
        let again = try JSONDecoder().decode(UploadInfo.self, from: try JSONEncoder().encode(i))
        #expect(again == i)
    }
}
