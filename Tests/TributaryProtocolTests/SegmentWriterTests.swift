import Testing
import TributaryProtocol
import TributaryTestKit

/// `SegmentWriter` verifies what it is given against the manifest, so a spool file that changed
/// on disk never leaves the site.
@Suite("SegmentWriter")
struct SegmentWriterTests {
    static let a = SegmentItem(name: "a.csv", bytes: Array("0123456789".utf8))
    static let b = SegmentItem(name: "b.csv", bytes: Array("abcdefghij".utf8))

    func writer(_ items: [SegmentItem]) throws -> SegmentWriter<ArraySink> {
        try SegmentWriter(sink: ArraySink(), manifest: SegmentManifest(objects: items.map(\.entry)))
    }

    @Test("refuses more bytes than the entry's size, at write time")
    func tooManyBytes() throws {
        var w = try writer([Self.a])
        _ = try w.beginObject()
        try Self.a.bytes.withUnsafeBytes { try w.write($0) }
        let error = #expect(throws: TributaryError.self) { try [UInt8(1)].withUnsafeBytes { try w.write($0) } }
        #expect(error?.code == .sizeMismatch)
    }

    @Test("refuses fewer bytes than the entry's size, at endObject")
    func tooFewBytes() throws {
        var w = try writer([Self.a])
        _ = try w.beginObject()
        try Self.a.bytes.dropLast().withUnsafeBytes { try w.write($0) }
        let error = #expect(throws: TributaryError.self) { try w.endObject() }
        #expect(error?.code == .sizeMismatch)
    }

    @Test("refuses bytes of the right size but another sha256")
    func wrongContent() throws {
        var w = try writer([Self.a])
        _ = try w.beginObject()
        try Array("0123456788".utf8).withUnsafeBytes { try w.write($0) }
        let error = #expect(throws: TributaryError.self) { try w.endObject() }
        #expect(error?.code == .checksumMismatch)
    }

    @Test("finish() with objects not written")
    func finishWithMissing() throws {
        var w = try writer([Self.a, Self.b])
        #expect(w.remaining == [Self.a.entry, Self.b.entry])
        let first = try w.beginObject()
        #expect(first == Self.a.entry)
        #expect(w.remaining == [Self.b.entry])
        try Self.a.bytes.withUnsafeBytes { try w.write($0) }
        try w.endObject()
        let error = #expect(throws: TributaryError.self) { _ = try w.finish() }
        #expect(error?.code == .manifestMismatch)
    }

    @Test("finish() with no object written at all")
    func finishWithNothing() throws {
        var w = try writer([Self.a])
        let error = #expect(throws: TributaryError.self) { _ = try w.finish() }
        #expect(error?.code == .manifestMismatch)
    }

    @Test("beginObject() past the last entry")
    func beginPastEnd() throws {
        var w = try writer([Self.a])
        _ = try w.beginObject()
        try Self.a.bytes.withUnsafeBytes { try w.write($0) }
        try w.endObject()
        let error = #expect(throws: TributaryError.self) { _ = try w.beginObject() }
        #expect(error?.code == .manifestMismatch)
    }

    @Test("ref entries are skipped: only non-ref entries are asked for")
    func refsSkipped() throws {
        var ref = Self.a
        ref.entry.ref = true
        var w = try writer([ref, Self.b])
        #expect(w.remaining == [Self.b.entry])
        #expect(try w.beginObject() == Self.b.entry)
    }

    @Test("refuses an invalid manifest up front")
    func invalidManifest() throws {
        let empty = #expect(throws: TributaryError.self) { _ = try writer([]) }
        #expect(empty?.code == .corruptSegment)
        let dup = #expect(throws: TributaryError.self) { _ = try writer([Self.a, SegmentItem(name: "a.csv", bytes: [1])]) }
        #expect(dup?.code == .duplicateName)
        let badName = #expect(throws: TributaryError.self) { _ = try writer([SegmentItem(name: "../x", bytes: [1])]) }
        #expect(badName?.code == .invalidName)
    }

    @Test("the zstd stream ends on a frame boundary and decompresses to a tar")
    func outputIsZstdTar() throws {
        let seg = try SegmentFixtures.segment([Self.a])
        let tar = try SegmentFixtures.decompress(seg)
        #expect(tar.count % Tar.blockSize == 0)
        #expect(tar.suffix(1024).allSatisfy { $0 == 0 })
        #expect(tar.prefix(SegmentManifest.memberName.utf8.count) == ArraySlice(SegmentManifest.memberName.utf8))
    }
}
