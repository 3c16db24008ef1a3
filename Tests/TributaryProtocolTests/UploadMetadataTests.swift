import Foundation
import Testing
import TributaryProtocol

@Suite("UploadMetadata")
struct UploadMetadataTests {
    func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    @Test("a valid header: base64 values, a key without value, spaces around pairs")
    func valid() throws {
        let header = "name \(b64("dir/a b.csv")), stream \(b64("vibration")),kind \(b64("object")) ,flag , sha256 \(b64("ab"))"
        let m = try UploadMetadata.parse(header)
        #expect(m["name"] == "dir/a b.csv")
        #expect(m["stream"] == "vibration")
        #expect(m["kind"] == "object")
        #expect(m["flag"] == "")
        #expect(m["sha256"] == "ab")
        #expect(m["missing"] == nil)
        #expect(m.values.count == 5)
    }

    @Test("an empty header is empty metadata")
    func empty() throws {
        #expect(try UploadMetadata.parse("") == UploadMetadata())
        #expect(try UploadMetadata.parse("   ") == UploadMetadata())
    }

    @Test("a key without a value")
    func keyWithoutValue() throws {
        let m = try UploadMetadata.parse("is_confidential")
        #expect(m.values == ["is_confidential": ""])
    }

    @Test("UTF-8 values", arguments: ["données.csv", "日本語", "🙂"])
    func unicodeValue(value: String) throws {
        #expect(try UploadMetadata.parse("name \(b64(value))")["name"] == value)
    }

    @Test(
        "malformed headers",
        arguments: [
            "name !!!notbase64", "name dGVzdA", "name /w==", "name a b c", "a,,b", ",", "name dGVzdA==,name dGVzdA==",
            "flag,flag", "nämé dGVzdA==", "k\u{7f} dGVzdA==",
        ])
    func malformed(header: String) {
        let error = #expect(throws: TributaryError.self) { _ = try UploadMetadata.parse(header) }
        #expect(error?.code == .invalidMetadata)
    }

    @Test("headerValue round trips through parse, keys sorted")
    func roundTrip() throws {
        let m = UploadMetadata(["stream": "vibration", "name": "dir/x y.csv", "flag": "", "captured-at": "2026-11-21T10:00:00Z", "u": "🙂"])
        let header = m.headerValue
        #expect(try UploadMetadata.parse(header) == m)
        #expect(header.split(separator: ",").map { String($0.split(separator: " ")[0]) } == ["captured-at", "flag", "name", "stream", "u"])
        #expect(header.contains("flag,"), "a key without value is written alone")
    }

    @Test("subscript sets and removes values")
    func subscriptSet() {
        var m = UploadMetadata()
        m["a"] = "1"
        #expect(m.headerValue == "a \(b64("1"))")
        m["a"] = nil
        #expect(m.headerValue == "")
    }
}
