import Testing
import TributaryProtocol
import TributaryTestKit

/// Every way `SegmentReader` refuses a segment, with the code it refuses it with.
@Suite("SegmentReader rejections")
struct SegmentReaderRejectionTests {
    static let a = SegmentItem(stream: "vibration", name: "a.csv", bytes: TestBytes.compressible(5_000, seed: 11))
    static let b = SegmentItem(stream: "vibration", name: "b.csv", bytes: TestBytes.compressible(3_000, seed: 12))
    static let c = SegmentItem(stream: "temperature", name: "c.bin", bytes: TestBytes.random(700, seed: 13))

    /// Reads `compressed` and expects it refused with `code`.
    func expectRejected(
        _ compressed: [UInt8], _ code: TributaryError.Code, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let error = #expect(throws: TributaryError.self, sourceLocation: sourceLocation) {
            try SegmentFixtures.read(compressed, maxChunk: 1000)
        }
        #expect(error?.code == code, "got \(error.map { "\($0)" } ?? "no error")", sourceLocation: sourceLocation)
    }

    /// A segment built by hand from `members` (path, bytes), zstd-compressed.
    func handmade(_ members: [(path: String, bytes: [UInt8])], endMarker: Bool = true) throws -> [UInt8] {
        try SegmentFixtures.compress(SegmentFixtures.tar(members, endMarker: endMarker))
    }

    func manifestJSON(_ items: [SegmentItem]) throws -> [UInt8] {
        try SegmentManifest(objects: items.map(\.entry)).encoded()
    }

    @Test("the hand-built baseline is accepted, so each rejection below is about its one defect")
    func baselineAccepted() throws {
        let seg = try handmade([
            (SegmentManifest.memberName, try manifestJSON([Self.a, Self.b])),
            (Self.a.entry.memberPath, Self.a.bytes), (Self.b.entry.memberPath, Self.b.bytes),
        ])
        let seen = try SegmentFixtures.read(seg)
        #expect(seen.objects.map(\.bytes) == [Self.a.bytes, Self.b.bytes])
    }

    // MARK: zstd

    @Test("truncated zstd stream", arguments: [1, 4, 100, 2_000])
    func truncatedZstd(cut: Int) throws {
        let seg = try SegmentFixtures.segment([Self.a, Self.b, Self.c])
        #expect(seg.count > cut)
        expectRejected(Array(seg.dropLast(cut)), .corruptCompression)
    }

    @Test("corrupt zstd stream (bytes flipped in the middle)")
    func corruptZstd() throws {
        var seg = try SegmentFixtures.segment([Self.a, Self.b, Self.c])
        let mid = seg.count / 2
        for i in mid..<(mid + 8) { seg[i] ^= 0xff }
        expectRejected(seg, .corruptCompression)
    }

    @Test("corrupt zstd frame checksum (last 4 bytes)")
    func corruptFrameChecksum() throws {
        var seg = try SegmentFixtures.segment([Self.a])
        seg[seg.count - 1] ^= 0x01
        expectRejected(seg, .corruptCompression)
    }

    @Test("a plain tar that is not zstd at all")
    func notZstd() throws {
        expectRejected(try SegmentFixtures.segmentTar([Self.a]), .corruptCompression)
    }

    @Test("an empty upload body")
    func emptyBody() {
        expectRejected([], .corruptCompression)
    }

    @Test("a complete zstd stream whose tar stops inside a member")
    func tarTruncatedInsideMember() throws {
        let tar = try SegmentFixtures.segmentTar([Self.a, Self.b], endMarker: false)
        expectRejected(try SegmentFixtures.compress(Array(tar.dropLast(1_000))), .corruptSegment)
    }

    // MARK: manifest

    @Test("manifest not the first member")
    func manifestNotFirst() throws {
        expectRejected(
            try handmade([(Self.a.entry.memberPath, Self.a.bytes), (SegmentManifest.memberName, try manifestJSON([Self.a]))]),
            .corruptSegment)
    }

    @Test("no manifest at all: only the end-of-archive marker")
    func noManifest() throws {
        expectRejected(try handmade([]), .corruptSegment)
    }

    @Test("manifest is not JSON", arguments: ["{not json", "", "[]", "{\"format\":\"tributary-segment\",\"version\":1}"])
    func manifestNotJSON(text: String) throws {
        expectRejected(try handmade([(SegmentManifest.memberName, Array(text.utf8))]), .corruptSegment)
    }

    @Test("manifest lists no objects")
    func emptyManifest() throws {
        expectRejected(try handmade([(SegmentManifest.memberName, try manifestJSON([]))]), .corruptSegment)
    }

    @Test("manifest of another format or version")
    func wrongFormat() throws {
        var m = SegmentManifest(objects: [Self.a.entry])
        m.format = "zip"
        expectRejected(try handmade([(SegmentManifest.memberName, try m.encoded()), (Self.a.entry.memberPath, Self.a.bytes)]), .corruptSegment)
        m = SegmentManifest(objects: [Self.a.entry])
        m.version = SegmentManifest.versions.upperBound + 1
        expectRejected(try handmade([(SegmentManifest.memberName, try m.encoded()), (Self.a.entry.memberPath, Self.a.bytes)]), .corruptSegment)
    }

    @Test("manifest member larger than 16 MiB is refused from its header alone")
    func manifestTooLarge() throws {
        let header = Tar.encodeHeader(TarHeader(path: SegmentManifest.memberName, size: UInt64(SegmentManifest.maxBytes) + 1))
        expectRejected(try SegmentFixtures.compress(header), .corruptSegment)
    }

    @Test("bad object name in the manifest", arguments: ["..", "a/../b", "/etc/passwd", "a\u{01}b", "", "./a", "a//b", "a\\b"])
    func badName(name: String) throws {
        let bytes = Array("x".utf8)
        let item = SegmentItem(stream: "vibration", name: name, bytes: bytes)
        expectRejected(
            try handmade([(SegmentManifest.memberName, try manifestJSON([item])), (item.entry.memberPath, bytes)]), .invalidName)
    }

    @Test("bad stream in the manifest", arguments: ["", "bad stream", "-x", "a/b"])
    func badStream(stream: String) throws {
        let item = SegmentItem(stream: stream, name: "a.csv", bytes: Array("x".utf8))
        expectRejected(
            try handmade([(SegmentManifest.memberName, try manifestJSON([item])), (item.entry.memberPath, item.bytes)]), .invalidStream)
    }

    @Test("bad sha256 in the manifest", arguments: ["XYZ", String(repeating: "A", count: 64), String(repeating: "a", count: 63)])
    func badSHA(sha: String) throws {
        var item = Self.a
        item.entry.sha256 = sha
        expectRejected(
            try handmade([(SegmentManifest.memberName, try manifestJSON([item])), (item.entry.memberPath, item.bytes)]), .corruptSegment)
    }

    @Test("bad captured_at in the manifest")
    func badTimestamp() throws {
        var item = Self.a
        item.entry.capturedAt = "yesterday"
        expectRejected(
            try handmade([(SegmentManifest.memberName, try manifestJSON([item])), (item.entry.memberPath, item.bytes)]), .invalidTimestamp)
    }

    @Test("two entries with the same (stream, name)")
    func duplicateName() throws {
        let again = SegmentItem(stream: Self.a.entry.stream, name: Self.a.entry.name, bytes: Self.b.bytes)
        expectRejected(
            try handmade([
                (SegmentManifest.memberName, try manifestJSON([Self.a, again])),
                (Self.a.entry.memberPath, Self.a.bytes), (again.entry.memberPath, again.bytes),
            ]),
            .duplicateName)
    }

    @Test("the same name in two streams is not a duplicate")
    func sameNameOtherStream() throws {
        let other = SegmentItem(stream: "temperature", name: Self.a.entry.name, bytes: Self.b.bytes)
        let seen = try SegmentFixtures.read(try SegmentFixtures.segment([Self.a, other]))
        #expect(seen.objects.count == 2)
    }

    // MARK: members against the manifest

    @Test("a member listed in the manifest is missing")
    func missingMember() throws {
        expectRejected(
            try handmade([(SegmentManifest.memberName, try manifestJSON([Self.a, Self.b])), (Self.a.entry.memberPath, Self.a.bytes)]),
            .manifestMismatch)
    }

    @Test("all members missing")
    func allMembersMissing() throws {
        expectRejected(try handmade([(SegmentManifest.memberName, try manifestJSON([Self.a, Self.b]))]), .manifestMismatch)
    }

    @Test("an extra member not in the manifest")
    func extraMember() throws {
        expectRejected(
            try handmade([
                (SegmentManifest.memberName, try manifestJSON([Self.a])),
                (Self.a.entry.memberPath, Self.a.bytes), (Self.b.entry.memberPath, Self.b.bytes),
            ]),
            .manifestMismatch)
    }

    @Test("a member for a ref entry (refs carry no bytes)")
    func memberForRef() throws {
        var ref = Self.a
        ref.entry.ref = true
        expectRejected(
            try handmade([(SegmentManifest.memberName, try manifestJSON([ref])), (ref.entry.memberPath, ref.bytes)]),
            .manifestMismatch)
    }

    @Test("members out of manifest order")
    func reordered() throws {
        expectRejected(
            try handmade([
                (SegmentManifest.memberName, try manifestJSON([Self.a, Self.b])),
                (Self.b.entry.memberPath, Self.b.bytes), (Self.a.entry.memberPath, Self.a.bytes),
            ]),
            .manifestMismatch)
    }

    @Test("a renamed member")
    func renamed() throws {
        expectRejected(
            try handmade([(SegmentManifest.memberName, try manifestJSON([Self.a])), ("vibration/other.csv", Self.a.bytes)]),
            .manifestMismatch)
    }

    @Test("a member under another stream")
    func otherStream() throws {
        expectRejected(
            try handmade([(SegmentManifest.memberName, try manifestJSON([Self.a])), ("temperature/a.csv", Self.a.bytes)]),
            .manifestMismatch)
    }

    @Test("member size differs from its entry", arguments: [-1, 1, 600])
    func sizeDiffers(delta: Int) throws {
        let bytes = Self.a.bytes + TestBytes.random(max(0, delta), seed: 5)
        let member = delta < 0 ? Array(Self.a.bytes.dropLast(-delta)) : bytes
        expectRejected(
            try handmade([(SegmentManifest.memberName, try manifestJSON([Self.a])), (Self.a.entry.memberPath, member)]),
            .sizeMismatch)
    }

    @Test("member sha256 differs from its entry (same size)")
    func checksumDiffers() throws {
        var bytes = Self.b.bytes
        bytes[1_234] ^= 0x20
        expectRejected(
            try handmade([
                (SegmentManifest.memberName, try manifestJSON([Self.a, Self.b])),
                (Self.a.entry.memberPath, Self.a.bytes), (Self.b.entry.memberPath, bytes),
            ]),
            .checksumMismatch)
    }

    @Test("a zero-byte entry whose member is not empty")
    func zeroByteEntryWithData() throws {
        let empty = SegmentItem(name: "empty.csv", bytes: [])
        expectRejected(
            try handmade([(SegmentManifest.memberName, try manifestJSON([empty])), (empty.entry.memberPath, [1])]),
            .sizeMismatch)
    }

    // MARK: end of archive

    @Test("no end-of-archive marker")
    func noEndMarker() throws {
        expectRejected(
            try handmade(
                [(SegmentManifest.memberName, try manifestJSON([Self.a])), (Self.a.entry.memberPath, Self.a.bytes)], endMarker: false),
            .corruptSegment)
    }

    @Test("only one of the two end-of-archive blocks")
    func halfEndMarker() throws {
        let tar = try SegmentFixtures.segmentTar([Self.a], endMarker: false) + [UInt8](repeating: 0, count: 512)
        expectRejected(try SegmentFixtures.compress(tar), .corruptSegment)
    }

    @Test("zero padding after the end marker is accepted")
    func zeroPaddingAccepted() throws {
        let tar = try SegmentFixtures.segmentTar([Self.a]) + [UInt8](repeating: 0, count: 8_192)
        let seen = try SegmentFixtures.read(try SegmentFixtures.compress(tar))
        #expect(seen.objects.map(\.bytes) == [Self.a.bytes])
    }

    @Test("garbage after the end marker")
    func garbageAfterEnd() throws {
        let tar = try SegmentFixtures.segmentTar([Self.a]) + [UInt8](repeating: 0, count: 512) + Array("garbage".utf8)
        expectRejected(try SegmentFixtures.compress(tar), .corruptSegment)
    }

    @Test("a member after a single zero block")
    func memberAfterZeroBlock() throws {
        let tar = SegmentFixtures.tar([(SegmentManifest.memberName, try manifestJSON([Self.a]))], endMarker: false)
            + [UInt8](repeating: 0, count: 512) + SegmentFixtures.tar([(Self.a.entry.memberPath, Self.a.bytes)])
        expectRejected(try SegmentFixtures.compress(tar), .corruptSegment)
    }
}
