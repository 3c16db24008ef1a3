import Testing
import TributaryProtocol
import TributaryTestKit

/// The segment reader's ceilings (`ParserLimits`): decoded bytes counted as produced, the
/// manifest's declared sizes summed without wrapping, manifest size and entry count, zeros
/// after the end marker.
@Suite("Segment limits")
struct SegmentLimitsTests {
    static let a = SegmentItem(stream: "vibration", name: "a.csv", bytes: TestBytes.compressible(5_000, seed: 21))
    static let sha = StreamingDigest.sha256Hex([])

    /// Reads `compressed` under `limits` in chunks of `chunk`; returns the error and how many
    /// bytes the reader had decoded when it stopped.
    func refusal(
        _ compressed: [UInt8], limits: ParserLimits, chunk: Int = 1000
    ) -> (error: TributaryError?, decoded: UInt64) {
        var reader = SegmentReader(delegate: CollectingDelegate(), limits: limits)
        do {
            for c in TestBytes.chunks(compressed, maxChunk: chunk) { try c.withUnsafeBytes { try reader.feed($0) } }
            try reader.finish()
            return (nil, reader.decodedBytes)
        } catch {
            return (error as? TributaryError, reader.decodedBytes)
        }
    }

    func segmentTar(_ manifest: SegmentManifest, members: [(String, [UInt8])] = []) throws -> [UInt8] {
        SegmentFixtures.tar([(SegmentManifest.memberName, try manifest.encoded())] + members)
    }

    @Test("issue 9: two entries of 2^63 bytes do not wrap to 0; the segment is too large")
    func declaredSizesOverflow() throws {
        let half: UInt64 = 1 << 63
        let m = SegmentManifest(objects: [
            ManifestEntry(stream: "s", name: "a", size: half, sha256: Self.sha),
            ManifestEntry(stream: "s", name: "b", size: half, sha256: Self.sha),
        ])
        let error = #expect(throws: TributaryError.self) { try m.validate(limits: ParserLimits(maxDecodedBytes: .max)) }
        #expect(error?.code == .tooLarge)
        // Through the reader: refused when the manifest is read, before any member.
        let r = refusal(try SegmentFixtures.compress(try segmentTar(m)), limits: ParserLimits())
        #expect(r.error?.code == .tooLarge)
    }

    @Test("declaredBytes sums non-ref entries and stops at the limit")
    func declaredBytes() throws {
        let m = SegmentManifest(objects: [
            ManifestEntry(stream: "s", name: "a", size: 10, sha256: Self.sha),
            ManifestEntry(stream: "s", name: "b", size: 1 << 40, sha256: Self.sha, ref: true),
            ManifestEntry(stream: "s", name: "c", size: 5, sha256: Self.sha),
        ])
        #expect(try m.declaredBytes(limit: 15) == 15)
        let error = #expect(throws: TributaryError.self) { try m.declaredBytes(limit: 14) }
        #expect(error?.code == .tooLarge)
    }

    @Test("decoded bytes are counted as they are produced, whatever the manifest declares")
    func decodedCountedAsProduced() throws {
        let seg = try SegmentFixtures.segment([Self.a])
        // The manifest declares 5 000 bytes, within the limit; the tar stream around it is larger.
        let limits = ParserLimits(maxDecodedBytes: 6_000)
        let r = refusal(seg, limits: limits)
        #expect(r.error?.code == .tooLarge)
        #expect(r.decoded <= 6_000)
        // With room for the whole tar stream it reads.
        let ok = refusal(seg, limits: ParserLimits(maxDecodedBytes: 64 << 10))
        #expect(ok.error == nil)
        #expect(ok.decoded > 6_000)
    }

    @Test("issue 9: zeros after the end marker stop at one tar record, long before a 256 MiB bomb is decoded")
    func zeroPaddingBomb() throws {
        let tar = try SegmentFixtures.segmentTar([Self.a])
        // 256 MiB of zeros compress to a few kilobytes; compress them in pieces to keep the test's memory small.
        let c = ZstdCompressor(level: 1)
        var compressed: [UInt8] = []
        try tar.withUnsafeBytes { p in try c.compress(p) { compressed.append(contentsOf: $0) } }
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        for _ in 0..<256 { try zeros.withUnsafeBytes { p in try c.compress(p) { compressed.append(contentsOf: $0) } } }
        try c.finish { compressed.append(contentsOf: $0) }
        #expect(compressed.count < 100_000)
        let r = refusal(compressed, limits: ParserLimits(), chunk: 64 << 10)
        #expect(r.error?.code == .corruptSegment)
        #expect(r.decoded < UInt64(tar.count) + (1 << 20), "stopped within one decompression buffer of the end marker")
        // One record of zeros after the marker is what GNU tar writes: accepted.
        let padded = try SegmentFixtures.compress(tar + [UInt8](repeating: 0, count: ParserLimits().maxTrailingBytes))
        #expect(refusal(padded, limits: ParserLimits()).error == nil)
    }

    @Test("more manifest entries than maxManifestEntries are refused")
    func tooManyEntries() throws {
        var limits = ParserLimits()
        limits.maxManifestEntries = 3
        let entries = (0..<4).map { ManifestEntry(stream: "s", name: "n\($0)", size: 0, sha256: Self.sha, ref: true) }
        let error = #expect(throws: TributaryError.self) { try SegmentManifest(objects: entries).validate(limits: limits) }
        #expect(error?.code == .corruptSegment)
        #expect(throws: Never.self) { try SegmentManifest(objects: Array(entries.prefix(3))).validate(limits: limits) }
        let r = refusal(try SegmentFixtures.compress(try segmentTar(SegmentManifest(objects: entries))), limits: limits)
        #expect(r.error?.code == .corruptSegment)
    }

    @Test("a manifest member larger than maxManifestBytes is refused from its header")
    func manifestBytes() throws {
        let seg = try SegmentFixtures.segment([Self.a])
        var limits = ParserLimits()
        limits.maxManifestBytes = 64
        #expect(refusal(seg, limits: limits).error?.code == .corruptSegment)
        #expect(refusal(seg, limits: ParserLimits()).error == nil)
    }

    @Test("a reader that has failed refuses more input with the same code")
    func usedAfterFailure() throws {
        var reader = SegmentReader(delegate: CollectingDelegate())
        let garbage: [UInt8] = Array("not zstd at all".utf8)
        #expect(throws: TributaryError.self) { try garbage.withUnsafeBytes { try reader.feed($0) } }
        let good = try SegmentFixtures.segment([Self.a])
        let again = #expect(throws: TributaryError.self) { try good.withUnsafeBytes { try reader.feed($0) } }
        #expect(again?.code == .corruptCompression)
        let finish = #expect(throws: TributaryError.self) { try reader.finish() }
        #expect(finish?.code == .corruptCompression)
    }
}
