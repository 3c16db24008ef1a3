import Testing
import TributaryProtocol

@Suite("Names")
struct NamesTests {
    @Test(
        "valid object names",
        arguments: [
            "a.csv", "dir/sub/x y.csv", "données/température.csv", "日本語/ファイル.txt", "emoji-🙂.json", ".hidden",
            "a..b", "...", "x", String(repeating: "a", count: 255), String(repeating: "d/", count: 300) + "f",
        ])
    func validObjectName(name: String) throws {
        try Names.validateObjectName(name)
    }

    @Test(
        "invalid object names",
        arguments: [
            "", "/abs", "/", "a/../b", "..", "../a", "a/..", "./a", "a/./b", ".", "a//b", "a/", "a\u{0}b", "a\u{1f}b", "tab\tname",
            "new\nline", "del\u{7f}", "back\\slash",
            String(repeating: "a", count: 256), "d/" + String(repeating: "a", count: 256),
            String(repeating: "abc/", count: 256) + "x",
        ])
    func invalidObjectName(name: String) {
        let error = #expect(throws: TributaryError.self) { try Names.validateObjectName(name) }
        #expect(error?.code == .invalidName)
    }

    @Test("object name length limit is 1024 bytes, counted in UTF-8")
    func nameLength() throws {
        let exactly1024 = String(repeating: String(repeating: "a", count: 200) + "/", count: 4) + String(repeating: "b", count: 220)
        #expect(exactly1024.utf8.count == 1024)
        try Names.validateObjectName(exactly1024)
        let error = #expect(throws: TributaryError.self) { try Names.validateObjectName(exactly1024 + "e") }
        #expect(error?.code == .invalidName)

        // 128 two-byte characters make a 256-byte component although it has only 128 characters.
        let wide = String(repeating: "é", count: 128)
        #expect(wide.count == 128 && wide.utf8.count == 256)
        #expect(throws: TributaryError.self) { try Names.validateObjectName(wide) }
        try Names.validateObjectName(String(repeating: "é", count: 127))
    }

    @Test("valid streams", arguments: ["vibration", "a", "0", "a.b-c_d", "Plant-A.01", String(repeating: "s", count: 64)])
    func validStream(stream: String) throws {
        try Names.validateStream(stream)
        try Names.validateSite(stream)
    }

    @Test(
        "invalid streams",
        arguments: ["", "-a", ".a", "_a", "a/b", "a b", "a\u{0}", "é", "a:b", String(repeating: "s", count: 65)])
    func invalidStream(stream: String) {
        let error = #expect(throws: TributaryError.self) { try Names.validateStream(stream) }
        #expect(error?.code == .invalidStream)
        let siteError = #expect(throws: TributaryError.self) { try Names.validateSite(stream) }
        #expect(siteError?.code == .invalidName)
    }

    @Test(
        "lakeName sanitizes each component and puts the tag before the extension",
        arguments: [
            ("dir/x y.csv", "dir/x_y.TAG.csv"),
            ("log.csv.gz", "log.TAG.csv.gz"),
            ("archive.tar.zst", "archive.TAG.tar.zst"),
            ("a.gz", "a.TAG.gz"),
            (".hidden", "_hidden.TAG"),
            (".hidden.csv", "_hidden.TAG.csv"),
            ("noext", "noext.TAG"),
            ("a=b.csv", "a_b.TAG.csv"),
            ("dir.d/.cfg/v1.2.json", "dir.d/_cfg/v1.2.TAG.json"),
            ("données.csv", "donn__es.TAG.csv"),
            ("trailing.", "trailing..TAG"),
            ("odd.ext-with-dash", "odd.ext-with-dash.TAG"),
            ("long.extensionover10", "long.extensionover10.TAG"),
        ])
    func lakeName(name: String, expected: String) {
        #expect(Names.lakeName(name, tag: "TAG") == expected)
    }

    @Test("lake names are safe for every filesystem and S3")
    func lakeNameCharset() {
        let names = ["a b/c?d/e*f|g.csv", "x/y/\u{1F642}.json", "..a", "-x.csv", "a%2Fb.csv"]
        for n in names {
            let key = Names.lakeName(n, tag: "0123456789abcdef")
            #expect(key.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2e || b == 0x5f || b == 0x2d || b == 0x2f
            }, "\(key)")
            #expect(key.split(separator: "/").allSatisfy { !$0.hasPrefix(".") }, "\(key)")
            #expect(key.contains("0123456789abcdef"))
        }
    }

    @Test("printable escapes control characters")
    func printable() {
        #expect(Names.printable("a\u{1}b\nc") == "a\\x1b\\xac")
        #expect(Names.printable("é") == "é")
    }
}
