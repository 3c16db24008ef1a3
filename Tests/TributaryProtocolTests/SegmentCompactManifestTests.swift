import Foundation
import Testing
import TributaryProtocol
import TributaryTestKit

/// Version 2 manifests (docs/PROTOCOL.md, "Segments"): no sha256 for the entries that carry
/// bytes; the reader computes it and completes the manifest.
@Suite("Segment compact manifest (version 2)")
struct SegmentCompactManifestTests {
    static func items() -> [SegmentItem] {
        [
            SegmentItem(stream: "weather", name: "a.csv", bytes: Array("t,v\n1,2\n".utf8), capturedAt: "2026-11-21T10:00:00Z"),
            SegmentItem(stream: "weather", name: "empty.csv", bytes: []),
            SegmentItem(stream: "weather", name: "held.csv", bytes: Array("already there".utf8), ref: true),
            SegmentItem(stream: "weather", name: "b.csv", bytes: TestBytes.compressible(9_000, seed: 5)),
        ]
    }

    static func tar(_ manifestJSON: String, members: [(String, [UInt8])]) -> [UInt8] {
        SegmentFixtures.tar([(SegmentManifest.memberName, Array(manifestJSON.utf8))] + members)
    }

    static func read(_ plain: [UInt8]) throws -> CollectingDelegate {
        try SegmentFixtures.read(try SegmentFixtures.compress(plain), maxChunk: 700)
    }

    @Test("version 2 writes no sha256 and no ref:false, keeps a ref's sha256")
    func encoding() throws {
        let items = Self.items()
        let json = String(decoding: try SegmentManifest(objects: items.map(\.entry), version: 2).encoded(), as: UTF8.self)
        #expect(json.contains("\"version\":2"))
        #expect(!json.contains(items[0].entry.sha256))
        #expect(!json.contains(items[3].entry.sha256))
        #expect(json.contains("\"sha256\":\"\(items[2].entry.sha256)\""))
        #expect(!json.contains("\"ref\":false"))
        #expect(json.contains("\"ref\":true"))
        #expect(json.contains("\"captured_at\":\"2026-11-21T10:00:00Z\""))
        // Version 1 is unchanged: every sha256, ref always written.
        let v1 = String(decoding: try SegmentManifest(objects: items.map(\.entry)).encoded(), as: UTF8.self)
        #expect(v1.contains(items[0].entry.sha256) && v1.contains("\"ref\":false") && v1.contains("\"version\":1"))
    }

    @Test("a version-2 segment reads back with every entry's sha256 computed by the reader")
    func roundTrip() throws {
        let items = Self.items()
        let segment = try SegmentFixtures.segment(items, version: 2)
        let v1 = try SegmentFixtures.segment(items, version: 1)
        #expect(segment.count < v1.count)
        let seen = try SegmentFixtures.read(segment, maxChunk: 333)
        let manifest = try #require(seen.manifest)
        #expect(manifest.version == 2)
        #expect(manifest.objects.filter { !$0.ref }.allSatisfy { $0.sha256.isEmpty }, "the delegate sees the manifest as sent")

        var reader = SegmentReader(delegate: CollectingDelegate())
        try segment.withUnsafeBytes { try reader.feed($0) }
        try reader.finish()
        // After finish, the reader's manifest is complete: what the core records and digests.
        #expect(reader.manifest?.objects == items.map(\.entry))
        let expected = items.filter { !$0.entry.ref }
        #expect(reader.delegate.objects.map(\.entry) == expected.map(\.entry))
        #expect(reader.delegate.objects.map(\.bytes) == expected.map(\.bytes))
    }

    @Test("a version-2 entry that lists a sha256 is checked against it")
    func listedHashIsChecked() throws {
        let bytes = Array("1,2,3\n".utf8)
        let wrong = String(repeating: "b", count: 64)
        let plain = Self.tar(
            #"{"format":"tributary-segment","version":2,"objects":[{"stream":"s","name":"a","size":6,"sha256":"\#(wrong)"}]}"#,
            members: [("s/a", bytes)])
        #expect { try Self.read(plain) } throws: { ($0 as? TributaryError)?.code == .checksumMismatch }
        let right = StreamingDigest.sha256Hex(bytes)
        let ok = Self.tar(
            #"{"format":"tributary-segment","version":2,"objects":[{"stream":"s","name":"a","size":6,"sha256":"\#(right)"}]}"#,
            members: [("s/a", bytes)])
        #expect(try Self.read(ok).objects.map(\.entry.sha256) == [right])
    }

    @Test("rejected: a ref without its sha256 (v2), any entry without one (v1), an unknown version")
    func rejections() throws {
        let refWithout = Self.tar(
            #"{"format":"tributary-segment","version":2,"objects":[{"stream":"s","name":"a","size":6,"ref":true}]}"#, members: [])
        #expect { try Self.read(refWithout) } throws: { ($0 as? TributaryError)?.code == .corruptSegment }
        let v1Without = Self.tar(
            #"{"format":"tributary-segment","version":1,"objects":[{"stream":"s","name":"a","size":1}]}"#, members: [("s/a", [0x31])])
        #expect { try Self.read(v1Without) } throws: { ($0 as? TributaryError)?.code == .corruptSegment }
        let v3 = Self.tar(
            #"{"format":"tributary-segment","version":3,"objects":[{"stream":"s","name":"a","size":1}]}"#, members: [("s/a", [0x31])])
        #expect { try Self.read(v3) } throws: { ($0 as? TributaryError)?.code == .corruptSegment }
        let badHex = Self.tar(
            #"{"format":"tributary-segment","version":2,"objects":[{"stream":"s","name":"a","size":1,"sha256":"xyz"}]}"#,
            members: [("s/a", [0x31])])
        #expect { try Self.read(badHex) } throws: { ($0 as? TributaryError)?.code == .corruptSegment }
    }

    @Test("a version-2 segment still fails on a missing, extra or resized member")
    func memberChecks() throws {
        let m = #"{"format":"tributary-segment","version":2,"objects":[{"stream":"s","name":"a","size":2},{"stream":"s","name":"b","size":1}]}"#
        #expect { try Self.read(Self.tar(m, members: [("s/a", [1, 2])])) } throws: { ($0 as? TributaryError)?.code == .manifestMismatch }
        #expect { try Self.read(Self.tar(m, members: [("s/a", [1, 2]), ("s/b", [3]), ("s/c", [4])])) } throws: {
            ($0 as? TributaryError)?.code == .manifestMismatch
        }
        #expect { try Self.read(Self.tar(m, members: [("s/a", [1, 2, 3]), ("s/b", [3])])) } throws: {
            ($0 as? TributaryError)?.code == .sizeMismatch
        }
        #expect(try Self.read(Self.tar(m, members: [("s/a", [1, 2]), ("s/b", [3])])).objects.count == 2)
    }

    @Test("the writer refuses entries without a sha256 to check the spool's bytes against")
    func writerNeedsHashes() throws {
        var e = ManifestEntry(stream: "s", name: "a", size: 1, sha256: "")
        #expect(throws: TributaryError.self) { try SegmentWriter(sink: ArraySink(), manifest: SegmentManifest(objects: [e], version: 2)) }
        e.sha256 = StreamingDigest.sha256Hex([0x31])
        var w = try SegmentWriter(sink: ArraySink(), manifest: SegmentManifest(objects: [e], version: 2))
        _ = try w.beginObject()
        try [UInt8(0x32)].withUnsafeBytes { try w.write($0) }
        #expect { try w.endObject() } throws: { ($0 as? TributaryError)?.code == .checksumMismatch }
    }
}
