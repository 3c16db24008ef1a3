import Testing
import TributaryProtocol
import TributaryTestKit

/// Records what `TarParser` reports.
struct TarCollector: TarParser.Delegate {
    var members: [(header: TarHeader, bytes: [UInt8])] = []
    var ended = 0

    mutating func tarMemberBegan(_ header: TarHeader) throws { members.append((header, [])) }
    mutating func tarMemberData(_ bytes: UnsafeRawBufferPointer) throws { members[members.count - 1].bytes += bytes }
    mutating func tarMemberEnded() throws { ended += 1 }
}

@Suite("Tar")
struct TarTests {
    func parse(_ tar: [UInt8], maxChunk: Int = 700) throws -> (TarCollector, reachedEnd: Bool) {
        var parser = TarParser()
        var collector = TarCollector()
        for chunk in TestBytes.chunks(tar, maxChunk: maxChunk) {
            try chunk.withUnsafeBytes { try parser.feed($0, into: &collector) }
        }
        return (collector, parser.reachedEnd)
    }

    func expectCorrupt(_ tar: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: TributaryError.self, sourceLocation: sourceLocation) { _ = try parse(tar) }
        #expect(error?.code == .corruptSegment, sourceLocation: sourceLocation)
    }

    /// Recomputes a header block's checksum after a test changed it on purpose.
    func fixChecksum(_ block: inout [UInt8], at offset: Int = 0) {
        for i in 148..<156 { block[offset + i] = 0x20 }
        let sum = block[offset..<(offset + 512)].reduce(0) { $0 + Int($1) }
        let s = String(sum, radix: 8)
        let field = Array((String(repeating: "0", count: 6 - s.count) + s).utf8) + [0, 0x20]
        for (i, c) in field.enumerated() { block[offset + 148 + i] = c }
    }

    @Test("ustar members round trip, with mtime, zero-byte and block-sized members")
    func ustarRoundTrip() throws {
        let members: [(String, [UInt8])] = [("a.txt", Array("hello".utf8)), ("empty", []), ("block", TestBytes.random(1024))]
        var tar: [UInt8] = []
        for (p, b) in members {
            tar += Tar.encodeHeader(TarHeader(path: p, size: UInt64(b.count), mtime: 1_700_000_000))
            tar += b + [UInt8](repeating: 0, count: Tar.padding(for: UInt64(b.count)))
        }
        tar += Tar.endOfArchive
        let (c, end) = try parse(tar, maxChunk: 100)
        #expect(end)
        #expect(c.ended == 3)
        #expect(c.members.map(\.header) == members.map { TarHeader(path: $0.0, size: UInt64($0.1.count), mtime: 1_700_000_000) })
        #expect(c.members.map(\.bytes) == members.map(\.1))
    }

    @Test("padding(for:)")
    func padding() {
        #expect(Tar.padding(for: 0) == 0)
        #expect(Tar.padding(for: 1) == 511)
        #expect(Tar.padding(for: 512) == 0)
        #expect(Tar.padding(for: 513) == 511)
        #expect(Tar.endOfArchive.count == 1024 && Tar.endOfArchive.allSatisfy { $0 == 0 })
    }

    @Test("a 100-byte path fits ustar; longer ones get a pax path record", arguments: [1, 99, 100, 101, 250, 1_000])
    func paxPath(length: Int) throws {
        let p = length > 2 ? "s/" + String(repeating: "n", count: length - 2) : String(repeating: "n", count: length)
        #expect(p.utf8.count == length)
        let header = Tar.encodeHeader(TarHeader(path: p, size: 3))
        #expect(header.count % 512 == 0)
        #expect((header.count > 512) == (length > 100))
        if length > 100 { #expect(header[156] == UInt8(ascii: "x")) }
        let (c, end) = try parse(header + [1, 2, 3] + [UInt8](repeating: 0, count: 509) + Tar.endOfArchive)
        #expect(end)
        #expect(c.members.first?.header.path == p)
        #expect(c.members.first?.bytes == [1, 2, 3])
    }

    @Test("a multi-byte UTF-8 pax path round trips")
    func paxUnicodePath() throws {
        let p = "capteurs/" + String(repeating: "données-température-", count: 6) + "é.csv"
        #expect(p.utf8.count > 100)
        let (c, _) = try parse(Tar.encodeHeader(TarHeader(path: p, size: 0)) + Tar.endOfArchive)
        #expect(c.members.map(\.header.path) == [p])
    }

    @Test("a size over ustar's 8 GiB gets a pax size record")
    func paxSize() throws {
        let size: UInt64 = 10 * 1024 * 1024 * 1024 + 7
        let header = Tar.encodeHeader(TarHeader(path: "big.bin", size: size))
        #expect(header[156] == UInt8(ascii: "x"))
        var parser = TarParser()
        var c = TarCollector()
        try header.withUnsafeBytes { try parser.feed($0, into: &c) }
        #expect(c.members.map(\.header) == [TarHeader(path: "big.bin", size: size)])
        #expect(c.ended == 0)

        let justFits: UInt64 = 0o77777777777
        #expect(Tar.encodeHeader(TarHeader(path: "f", size: justFits)).count == 512)
        #expect(Tar.encodeHeader(TarHeader(path: "f", size: justFits + 1)).count > 512)
    }

    @Test("pax path and size records together")
    func paxPathAndSize() throws {
        let p = String(repeating: "d/", count: 80) + "f"
        let size: UInt64 = 0o77777777777 + 1
        var parser = TarParser()
        var c = TarCollector()
        try Tar.encodeHeader(TarHeader(path: p, size: size)).withUnsafeBytes { try parser.feed($0, into: &c) }
        #expect(c.members.map(\.header) == [TarHeader(path: p, size: size)])
    }

    @Test("a header whose checksum does not match is rejected")
    func checksumCorruption() throws {
        var tar = SegmentFixtures.tar([("a.txt", Array("hello".utf8))])
        tar[3] ^= 0x01  // in the name field
        expectCorrupt(tar)

        var tar2 = SegmentFixtures.tar([("a.txt", Array("hello".utf8))])
        tar2[150] = tar2[150] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")  // in the checksum field
        expectCorrupt(tar2)

        var fixed = SegmentFixtures.tar([("a.txt", Array("hello".utf8))])
        fixed[3] ^= 0x01
        fixChecksum(&fixed)
        let (c, _) = try parse(fixed)
        #expect(c.members.count == 1, "with the checksum recomputed the same change is accepted")
    }

    @Test("non-regular member types are rejected", arguments: ["5", "2", "1", "3", "4", "6", "g", "L"])
    func nonRegular(type: String) throws {
        var tar = SegmentFixtures.tar([("thing", [])])
        tar[156] = UInt8(ascii: Unicode.Scalar(type)!)
        fixChecksum(&tar)
        expectCorrupt(tar)
    }

    @Test("the old-style regular type (NUL) is accepted")
    func nulType() throws {
        var tar = SegmentFixtures.tar([("thing", [9])])
        tar[156] = 0
        fixChecksum(&tar)
        let (c, _) = try parse(tar)
        #expect(c.members.first?.bytes == [9])
    }

    @Test("a bad octal size is rejected")
    func badOctal() {
        var tar = SegmentFixtures.tar([("a", [1])])
        tar[124] = UInt8(ascii: "9")
        fixChecksum(&tar)
        expectCorrupt(tar)
    }

    @Test("base-256 numbers are rejected")
    func base256() {
        var tar = SegmentFixtures.tar([("a", [1])])
        tar[124] = 0x80
        fixChecksum(&tar)
        expectCorrupt(tar)
    }

    @Test("a malformed pax record is rejected")
    func malformedPax() {
        var tar = Tar.encodeHeader(TarHeader(path: String(repeating: "p", count: 150), size: 0)) + Tar.endOfArchive
        // The pax records start at 512 with "<len> path=…": break the length.
        tar[512] = UInt8(ascii: "x")
        expectCorrupt(tar)
    }

    @Test("a pax header over 64 KiB is rejected")
    func paxTooLarge() {
        var block = Tar.encodeHeader(TarHeader(path: String(repeating: "p", count: 150), size: 0))
        let size = Array(String(128 * 1024, radix: 8).utf8)
        for i in 124..<136 { block[i] = 0 }
        for (i, c) in size.enumerated() { block[124 + i] = c }
        fixChecksum(&block)
        expectCorrupt(Array(block.prefix(512)))
    }

    @Test("the end marker is recognized only after two zero blocks")
    func endMarker() throws {
        let one = try parse(SegmentFixtures.tar([("a", [1])], endMarker: false) + [UInt8](repeating: 0, count: 512))
        #expect(!one.reachedEnd)
        let two = try parse(SegmentFixtures.tar([("a", [1])]))
        #expect(two.reachedEnd)
    }
}
