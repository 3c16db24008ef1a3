import Foundation
import Testing
import TributaryProtocol
import TributaryTestKit

@Suite("Segment round trip")
struct SegmentRoundTripTests {
    /// A name whose member path (`<stream>/<name>`) is far over ustar's 100 bytes, so it needs pax.
    static let longName = "deep/" + String(repeating: "directory-level/", count: 8) + "reading-with-a-long-name.csv"

    static func items() -> [SegmentItem] {
        [
            SegmentItem(stream: "vibration", name: "a.csv", bytes: Array("t,v\n1,2\n".utf8), capturedAt: "2026-11-21T10:00:00Z"),
            SegmentItem(stream: "vibration", name: "empty.csv", bytes: []),
            SegmentItem(stream: "vibration", name: longName, bytes: TestBytes.compressible(70_000, seed: 2)),
            SegmentItem(stream: "temperature", name: "dir/x y.bin", bytes: TestBytes.random(1_500, seed: 3)),
            SegmentItem(stream: "temperature", name: "held.csv", bytes: Array("already there".utf8), ref: true),
            SegmentItem(stream: "temperature", name: "exactly-512.bin", bytes: TestBytes.random(512, seed: 4)),
        ]
    }

    @Test("writer output reads back: manifest, objects' bytes, refs carry no member")
    func roundTrip() throws {
        let items = Self.items()
        #expect(Self.longName.utf8.count > 100)
        let segment = try SegmentFixtures.segment(items)
        let seen = try SegmentFixtures.read(segment, maxChunk: 333)

        let manifest = try #require(seen.manifest)
        #expect(manifest == SegmentManifest(objects: items.map(\.entry)))
        #expect(manifest.format == "tributary-segment")
        #expect(manifest.version == 1)

        let expected = items.filter { !$0.entry.ref }
        #expect(seen.objects.map(\.entry) == expected.map(\.entry))
        for (got, want) in zip(seen.objects, expected) {
            #expect(got.bytes == want.bytes, "bytes of \(want.entry.name)")
        }
        #expect(!seen.objects.contains { $0.entry.ref })
        #expect(seen.open == nil)
    }

    @Test("reading byte by byte gives the same result as reading in big chunks")
    func byteByByte() throws {
        let items = Array(Self.items().prefix(2)) + [SegmentItem(name: "b.csv", bytes: TestBytes.random(700, seed: 9))]
        let segment = try SegmentFixtures.segment(items)
        var reader = SegmentReader(delegate: CollectingDelegate())
        for b in segment { try [b].withUnsafeBytes { try reader.feed($0) } }
        try reader.finish()
        let whole = try SegmentFixtures.read(segment, maxChunk: 1 << 20)
        #expect(reader.delegate.objects == whole.objects)
        #expect(reader.delegate.objects.count == 3)
        #expect(reader.manifest == whole.manifest)
    }

    @Test("a segment of only refs has the manifest and the end marker")
    func onlyRefs() throws {
        let items = [SegmentItem(name: "r.csv", bytes: Array("x".utf8), ref: true)]
        let seen = try SegmentFixtures.read(try SegmentFixtures.segment(items))
        #expect(seen.manifest?.objects == items.map(\.entry))
        #expect(seen.objects.isEmpty)
    }

    @Test("manifest JSON uses captured_at and ref, and ref defaults to false when absent")
    func manifestJSON() throws {
        let entry = ManifestEntry(stream: "s", name: "n", size: 1, sha256: String(repeating: "a", count: 64), capturedAt: "2026-11-21T10:00:00Z")
        let json = String(decoding: try SegmentManifest(objects: [entry]).encoded(), as: UTF8.self)
        #expect(json.contains("\"captured_at\":\"2026-11-21T10:00:00Z\""))
        #expect(json.contains("\"ref\":false"))
        #expect(json.contains("\"format\":\"tributary-segment\""))

        let minimal = """
            {"format":"tributary-segment","version":1,"objects":[{"stream":"s","name":"n","size":1,"sha256":"\(String(repeating: "a", count: 64))"}]}
            """
        let decoded = try SegmentManifest.decode(Array(minimal.utf8))
        #expect(decoded.objects.first?.ref == false)
        #expect(decoded.objects.first?.capturedAt == nil)
    }

    @Test("zstd -dc | tar -tv lists the manifest first, then <stream>/<name> members")
    func systemTarListsSegment() throws {
        let items = Self.items()
        let segment = try SegmentFixtures.segment(items)
        let dir = try TemporaryDirectory()
        let file = dir.path("segment.tar.zst")
        try ProcessRunner.write(segment, to: file)

        let listing = try ProcessRunner.pipeline([["zstd", "-dc"], ["tar", "-tv"]], stdinPath: file)
        #expect(listing.status == 0, "stderr: \(listing.stderr)")
        let lines = listing.stdout.split(separator: "\n").map(String.init)
        let expected = [SegmentManifest.memberName] + items.filter { !$0.entry.ref }.map(\.entry.memberPath)
        #expect(lines.count == expected.count, "listing:\n\(listing.stdout)")
        for (line, path) in zip(lines, expected) {
            #expect(line.hasSuffix(" " + path), "line '\(line)' should name \(path)")
            #expect(line.hasPrefix("-"), "line '\(line)' should be a regular file")
        }
        // The zero-byte object is listed with size 0.
        let emptyLine = try #require(lines.first { $0.hasSuffix(" vibration/empty.csv") })
        #expect(emptyLine.split(separator: " ", omittingEmptySubsequences: true).contains("0"))

        // Extracting gives back the very bytes, including the pax-named member.
        let out = dir.path("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let extract = try ProcessRunner.pipeline([["zstd", "-dc"], ["tar", "-x", "-C", out]], stdinPath: file)
        #expect(extract.status == 0, "stderr: \(extract.stderr)")
        for item in items where !item.entry.ref {
            let data = FileManager.default.contents(atPath: out + "/" + item.entry.memberPath)
            #expect(data.map { Array($0) } == item.bytes, "extracted \(item.entry.memberPath)")
        }
    }

    /// A segment whose tar is exactly 128 KiB (the zstd decoder's output buffer): manifest block,
    /// its data block, one member header, the member data, and the end marker.
    @Test("a segment whose tar is exactly 128 KiB reads back")
    func tarOf128KiB() throws {
        // Find the data size that makes the whole tar 131 072 bytes.
        var size = 100_000
        var items: [SegmentItem] = []
        var tarSize = 0
        repeat {
            items = [SegmentItem(name: "a.bin", bytes: TestBytes.random(size, seed: 8))]
            tarSize = try SegmentFixtures.segmentTar(items).count
            size += 131_072 - tarSize
        } while tarSize != 131_072
        let seen = try SegmentFixtures.read(try SegmentFixtures.segment(items), maxChunk: 1 << 20)
        #expect(seen.objects.map(\.bytes) == items.map(\.bytes))
    }
}
