import Testing
import TributaryProtocol
import TributaryTestKit

@Suite("Zstd")
struct ZstdTests {
    /// Compresses in chunks of varying size, as the segment writer does.
    func compress(_ data: [UInt8], level: Int32 = 3, checksum: Bool = true) throws -> [UInt8] {
        let c = ZstdCompressor(level: level, checksum: checksum)
        var out: [UInt8] = []
        for chunk in TestBytes.chunks(data, maxChunk: 200_000) {
            try chunk.withUnsafeBytes { p in try c.compress(p) { out.append(contentsOf: $0) } }
        }
        try c.finish { out.append(contentsOf: $0) }
        return out
    }

    func decompress(_ z: [UInt8], maxChunk: Int = 50_000) throws -> [UInt8] {
        let d = ZstdDecompressor()
        var out: [UInt8] = []
        for chunk in TestBytes.chunks(z, maxChunk: maxChunk) {
            try chunk.withUnsafeBytes { p in try d.decompress(p) { out.append(contentsOf: $0) } }
        }
        try d.finish()
        return out
    }

    @Test("a size hint keeps level 19's tables small for a small input, and the output decodes")
    func sizeHint() throws {
        let data = SensorCSV.file(station: 1, lines: 400, seed: 7)
        func run(_ hint: UInt64?) throws -> (memory: Int, out: [UInt8]) {
            let c = ZstdCompressor(level: 19, sizeHint: hint)
            var out: [UInt8] = []
            try data.withUnsafeBytes { p in try c.compress(p) { out.append(contentsOf: $0) } }
            try c.finish { out.append(contentsOf: $0) }
            return (c.memoryBytes, out)
        }
        let hinted = try run(UInt64(data.count))
        let unhinted = try run(nil)
        #expect(hinted.memory < 8 << 20, "level 19 with a \(data.count)-byte hint holds \(hinted.memory) bytes")
        #expect(unhinted.memory > 32 << 20, "without a hint level 19 sizes for a large input")
        #expect(try decompress(hinted.out) == data)
        // The window still covers the whole input: no ratio lost.
        #expect(hinted.out.count <= unhinted.out.count + 64)
    }

    @Test("a segment writer's size hint bounds its tar stream")
    func segmentTarBound() throws {
        let items = [
            SegmentItem(name: String(repeating: "d/", count: 300) + "x.csv", bytes: TestBytes.random(3000, seed: 1)),
            SegmentItem(name: "e.csv", bytes: []), SegmentItem(name: "r.csv", bytes: [1], ref: true),
        ]
        let manifest = SegmentManifest(objects: items.map(\.entry), version: 2)
        let tar = try SegmentFixtures.segmentTar(items, version: 2)
        #expect(SegmentWriter<ArraySink>.tarBound(manifest, json: try manifest.encoded()) >= UInt64(tar.count))
    }

    @Test("5 MB round trip", arguments: ["random", "compressible"])
    func roundTrip(kind: String) throws {
        let data = kind == "random" ? TestBytes.random(5_000_000, seed: 31) : TestBytes.compressible(5_000_000, seed: 32)
        let z = try compress(data)
        if kind == "compressible" { #expect(z.count < data.count / 3) } else { #expect(z.count < data.count + data.count / 100) }
        #expect(try decompress(z) == data)
        #expect(try decompress(z, maxChunk: 97) == data, "fed in small pieces")
    }

    @Test("the system zstd decodes what ZstdCompressor writes")
    func systemZstd() throws {
        let data = TestBytes.compressible(300_000, seed: 33)
        let dir = try TemporaryDirectory()
        try ProcessRunner.write(try compress(data), to: dir.path("x.zst"))
        let r = try ProcessRunner.run(["zstd", "-q", "-t", dir.path("x.zst")])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test("an empty input makes a valid empty frame")
    func emptyFrame() throws {
        let z = try compress([])
        #expect(!z.isEmpty)
        #expect(try decompress(z) == [])
    }

    @Test("concatenated frames decode as one stream")
    func concatenated() throws {
        let a = TestBytes.compressible(100_000, seed: 34)
        let b = TestBytes.random(100_000, seed: 35)
        #expect(try decompress(try compress(a) + compress(b)) == a + b)
    }

    @Test("finish() throws on a truncated stream", arguments: [1, 3, 4, 1_000])
    func truncated(cut: Int) throws {
        let z = try compress(TestBytes.compressible(500_000, seed: 36))
        let d = ZstdDecompressor()
        try Array(z.dropLast(cut)).withUnsafeBytes { p in try d.decompress(p) { _ in } }
        let error = #expect(throws: TributaryError.self) { try d.finish() }
        #expect(error?.code == .corruptCompression)
    }

    @Test("finish() throws on a stream cut inside the first frame header")
    func truncatedHeader() throws {
        let z = try compress(Array("hello".utf8))
        let d = ZstdDecompressor()
        try Array(z.prefix(3)).withUnsafeBytes { p in try d.decompress(p) { _ in } }
        #expect(throws: TributaryError.self) { try d.finish() }
    }

    @Test("finish() throws on empty input")
    func emptyInput() throws {
        let d = ZstdDecompressor()
        try [UInt8]().withUnsafeBytes { p in try d.decompress(p) { _ in } }
        let error = #expect(throws: TributaryError.self) { try d.finish() }
        #expect(error?.code == .corruptCompression)
        let never = ZstdDecompressor()
        #expect(throws: TributaryError.self) { try never.finish() }
    }

    @Test("data that is not zstd is refused while decompressing")
    func notZstd() {
        let d = ZstdDecompressor()
        let error = #expect(throws: TributaryError.self) {
            try Array("definitely not zstd".utf8).withUnsafeBytes { p in try d.decompress(p) { _ in } }
        }
        #expect(error?.code == .corruptCompression)
    }

    @Test("a frame checksum mismatch is refused")
    func checksum() throws {
        var z = try compress(TestBytes.compressible(10_000, seed: 37))
        z[z.count - 2] ^= 0xff
        #expect(throws: TributaryError.self) { _ = try decompress(z) }
    }

    @Test("a frame needing a window over windowLogMax is refused (bounded memory)")
    func windowLimit() throws {
        // A streamed frame at level 3 declares a 2^21-byte window; allow only 2^20.
        let z = try compress(TestBytes.compressible(4 << 20, seed: 38), level: 3)
        let d = ZstdDecompressor(windowLogMax: 20)
        let error = #expect(throws: TributaryError.self) {
            try z.withUnsafeBytes { p in try d.decompress(p) { _ in } }
        }
        #expect(error?.code == .corruptCompression)
    }

    /// The decoder's output buffer is one zstd block (128 KiB). A frame whose decoded size is a
    /// multiple of it fills the buffer exactly on the call that ends the frame; the stream is
    /// still complete and must be accepted.
    @Test("decoded sizes on and around multiples of 128 KiB", arguments: [131_071, 131_072, 131_073, 262_144, 393_216, 1 << 20])
    func outputBufferBoundary(size: Int) throws {
        for data in [TestBytes.random(size, seed: 39), TestBytes.compressible(size, seed: 40)] {
            let z = try compress(data)
            let d = ZstdDecompressor()
            var out: [UInt8] = []
            try z.withUnsafeBytes { p in try d.decompress(p) { out.append(contentsOf: $0) } }
            #expect(out.count == size)
            #expect(d.atFrameBoundary, "a complete frame of \(size) bytes ends on a frame boundary")
            #expect(throws: Never.self) { try d.finish() }
        }
    }
}
