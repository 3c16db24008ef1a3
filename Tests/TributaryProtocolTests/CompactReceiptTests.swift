import Foundation
import Testing
import TributaryProtocol

@Suite("Compact receipts")
struct CompactReceiptTests {
    static func sha(_ i: Int) -> String { StreamingDigest.sha256Hex(Array("object \(i)".utf8)) }

    /// A receipt of `n` objects in an order that is not the canonical one, every third a duplicate.
    static func receipt(_ n: Int) -> CommitReceipt {
        CommitReceipt(
            uploadID: String(repeating: "a", count: 32), site: "plant-a", kind: .segment, committedAt: "2026-11-30T12:00:00.000Z",
            objects: (0..<n).reversed().map { i in
                CommitReceipt.Object(
                    stream: i % 2 == 0 ? "vibration" : "temp", name: "d/\(i).csv", sha256: sha(i), size: UInt64(100 + i),
                    status: i % 3 == 0 ? .duplicate : .stored, key: "stream=x/site=plant-a/date=2026-11-30/\(i).csv")
            })
    }

    static func entries(_ r: CommitReceipt) -> [ReceiptEntry] {
        r.objects.map { ReceiptEntry(stream: $0.stream, name: $0.name, sha256: $0.sha256, size: $0.size) }
    }

    @Test("expanding against the same objects, in any order, gives back every object with its status")
    func roundTrip() throws {
        let full = Self.receipt(50)
        let compact = try CompactReceipt.parse(Array(try JSONEncoder().encode(CompactReceipt(full))))
        #expect(compact.count == 50)
        #expect(compact.duplicates.count == 17)
        let shuffled = Self.entries(full).shuffled()
        let expanded = try #require(compact.expand(shuffled))
        #expect(expanded.objects.count == 50)
        let status = Dictionary(uniqueKeysWithValues: full.objects.map { ($0.name, $0.status) })
        for o in expanded.objects {
            #expect(o.status == status[o.name])
            #expect(o.key == "")
        }
        #expect(expanded.uploadID == full.uploadID && expanded.site == full.site && expanded.kind == .segment)
    }

    @Test("other objects than the core committed do not expand: one missing, one more, a changed hash or size or name")
    func mismatch() throws {
        let full = Self.receipt(10)
        let compact = CompactReceipt(full)
        var e = Self.entries(full)
        #expect(compact.expand(Array(e.dropLast())) == nil)
        #expect(compact.expand(e + [ReceiptEntry(stream: "temp", name: "extra", sha256: Self.sha(99), size: 1)]) == nil)
        e[3].sha256 = Self.sha(77)
        #expect(compact.expand(e) == nil)
        e = Self.entries(full)
        e[4].size += 1
        #expect(compact.expand(e) == nil)
        e = Self.entries(full)
        e[5].name = "other.csv"
        #expect(compact.expand(e) == nil)
        // Moving an object to another stream changes the digest although names and hashes stay.
        e = Self.entries(full)
        e[6].stream = e[6].stream == "temp" ? "vibration" : "temp"
        #expect(compact.expand(e) == nil)
    }

    @Test("a compact receipt of 1 000 objects is a few hundred bytes")
    func small() throws {
        var full = Self.receipt(1000)
        for i in full.objects.indices { full.objects[i].status = .stored }
        let compactBytes = try JSONEncoder().encode(CompactReceipt(full)).count
        let fullBytes = try JSONEncoder().encode(full).count
        #expect(compactBytes < 400)
        #expect(fullBytes > 100 * compactBytes)
    }

    @Test(
        "malformed compact receipts are invalid_body",
        arguments: [
            #"{"format":"compact-2","upload_id":"a","site":"s","kind":"segment","committed_at":"t","count":1,"objects_sha256":"\#(sha(1))","duplicates":[]}"#,
            #"{"format":"compact-1","upload_id":"a","site":"s","kind":"segment","committed_at":"t","count":-1,"objects_sha256":"\#(sha(1))","duplicates":[]}"#,
            #"{"format":"compact-1","upload_id":"a","site":"s","kind":"segment","committed_at":"t","count":100001,"objects_sha256":"\#(sha(1))","duplicates":[]}"#,
            #"{"format":"compact-1","upload_id":"a","site":"s","kind":"segment","committed_at":"t","count":2,"objects_sha256":"XYZ","duplicates":[]}"#,
            #"{"format":"compact-1","upload_id":"a","site":"s","kind":"segment","committed_at":"t","count":2,"objects_sha256":"\#(sha(1))","duplicates":[2]}"#,
            #"{"format":"compact-1","upload_id":"a","site":"s","kind":"segment","committed_at":"t","count":3,"objects_sha256":"\#(sha(1))","duplicates":[1,1]}"#,
            #"{"format":"compact-1","upload_id":"a","site":"s","kind":"segment","committed_at":"t","count":3,"objects_sha256":"\#(sha(1))","duplicates":[-1]}"#,
            #"{"format":"compact-1","upload_id":"a","site":"s","kind":"tarball","committed_at":"t","count":1,"objects_sha256":"\#(sha(1))","duplicates":[]}"#,
            "[]", "",
        ])
    func malformed(text: String) throws {
        let error = #expect(throws: TributaryError.self) { try CompactReceipt.parse(Array(text.utf8)) }
        #expect(error?.code == .invalidBody)
    }
}
