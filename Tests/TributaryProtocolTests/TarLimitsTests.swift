import Foundation
import Testing
import TributaryProtocol
import TributaryTestKit

/// Malformed pax records and the tar ceilings of `ParserLimits`: each is refused with
/// `corrupt_segment`, never a trap.
extension TarTests {
    /// A pax extended header (typeflag `x`) holding `records` verbatim, then member `a`
    /// (3 bytes) and the end marker.
    func paxTar(_ records: [UInt8]) -> [UInt8] {
        var header = Tar.encodeHeader(TarHeader(path: "PaxHeaders/a", size: UInt64(records.count)))
        header[156] = UInt8(ascii: "x")
        fixChecksum(&header)
        return header + records + [UInt8](repeating: 0, count: Tar.padding(for: UInt64(records.count)))
            + SegmentFixtures.tarMember(path: "a", bytes: [1, 2, 3]) + Tar.endOfArchive
    }

    func parse(_ tar: [UInt8], limits: ParserLimits, maxChunk: Int = 700) throws -> TarCollector {
        var parser = TarParser(limits: limits)
        var collector = TarCollector()
        for chunk in TestBytes.chunks(tar, maxChunk: maxChunk) {
            try chunk.withUnsafeBytes { try parser.feed($0, into: &collector) }
        }
        return collector
    }

    func expectCorrupt(_ tar: [UInt8], limits: ParserLimits, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: TributaryError.self, sourceLocation: sourceLocation) { _ = try parse(tar, limits: limits) }
        #expect(error?.code == .corruptSegment, sourceLocation: sourceLocation)
    }

    @Test("issue 9: a pax record whose length is smaller than its own digits and space is refused, not a trap")
    func paxLengthShorterThanItsDigits() throws {
        // The 83-byte upload that crashed the core held this record ("Range requires lowerBound <= upperBound").
        expectCorrupt(paxTar(Array("1 path=a\n".utf8)))
    }

    @Test("fuzz finding: the tar target's crash on the parser before issue 9's fix is refused (input embedded)")
    func fuzzFindingPaxLeadingZeroLength() throws {
        // crash-bca1f6a4ea8e6596ea7628ebf1c46bf94a7c4841 (588 bytes), found in
        // 31 s by `scripts/fuzz.sh tar` run against the old parsePax without the issue 9 seed
        // (docs/FUZZING.md): a pax header whose records are "01 path=a/b\n12 size=100\n", no end marker.
        let base64 = [
            "UGF4SGVhZGVycy9hAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADAwMDA2NDQAMDAwMDAwMAAwMDAwMDAwADAwMDAwMDAwMDMwADAwMDAwMDAw",
            "MDAwADAxMDIzNQAgeAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB1c3RhcgAwMAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAwMSBwYXRoPWEvYgoxMiBzaXplPTEwMAoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAA",
        ].joined()
        let input = try #require(Data(base64Encoded: base64).map { Array($0) })
        #expect(input.count == 588)
        expectCorrupt(input)
        let error = #expect(throws: TributaryError.self) { try SegmentFixtures.read(try SegmentFixtures.compress(input)) }
        #expect(error?.code == .corruptSegment)
    }

    @Test(
        "malformed pax records are refused",
        arguments: [
            "0 path=a\n",  // zero length
            "01 path=a/b\n",  // the fuzz finding below: length 1 written with a leading zero
            "2 path=a\n",  // length covers "2 " only
            "5 =a\n",  // empty key
            "12 path=a\n",  // length past the end of the header
            "9 path=a\n3 ",  // trailing partial record
            "9 path=a ",  // no newline at the end of the record
            "9 pathxa\n",  // no '='
            "+9 path=a\n",  // signed length
            " 9 path=a\n",  // space before the length
            "99999999999999999999999 path=a\n",  // length of 23 digits
            "9path=a\n",  // no space after the length
            "11 size=+5\n",  // signed size
            "11 size=-1\n",  // negative size
            "29 size=99999999999999999999\n",  // size past UInt64
            "8 size=\n",  // empty size
        ])
    func malformedPax(record: String) throws {
        expectCorrupt(paxTar(Array(record.utf8)))
    }

    @Test("well-formed pax records of every length up to the limit parse")
    func paxRecordLengths() throws {
        for valueLength in [1, 8, 96, 997, 8_100] {
            // "%d path=<value>\n": find the length that counts itself.
            let body = " path=" + String(repeating: "p", count: valueLength) + "\n"
            var length = body.utf8.count + 1
            while String(length).utf8.count + body.utf8.count != length { length += 1 }
            let c = try parse(paxTar(Array((String(length) + body).utf8)), limits: ParserLimits())
            #expect(c.members.map(\.header.path) == [String(repeating: "p", count: valueLength)])
        }
    }

    @Test("a pax record longer than maxPaxRecordBytes is refused")
    func paxRecordTooLong() throws {
        var limits = ParserLimits()
        limits.maxPaxRecordBytes = 100
        let ok = "100 path=" + String(repeating: "p", count: 90) + "\n"
        let tooLong = "101 path=" + String(repeating: "p", count: 91) + "\n"
        #expect(ok.utf8.count == 100 && tooLong.utf8.count == 101)
        #expect(try parse(paxTar(Array(ok.utf8)), limits: limits).members.count == 1)
        expectCorrupt(paxTar(Array(tooLong.utf8)), limits: limits)
    }

    @Test("pax headers before one member count together against maxPaxHeaderBytes")
    func paxHeaderTotal() throws {
        var limits = ParserLimits()
        limits.maxPaxHeaderBytes = 2_048
        let record = Array(("1000 comment=" + String(repeating: "c", count: 986) + "\n").utf8)
        #expect(record.count == 1000)
        let two = paxTar(record + record)
        #expect(try parse(two, limits: limits).members.count == 1, "2 000 bytes in one header fit")
        // One pax header block with its 1 000-byte record and padding; three of them before the
        // same member make 3 000 bytes.
        let header = Array(paxTar(record).prefix(512 + 1024))
        let member = { (path: String) in SegmentFixtures.tarMember(path: path, bytes: []) }
        expectCorrupt(header + header + header + member("a") + Tar.endOfArchive, limits: limits)
        // The budget is per member: the same three headers split over two members are fine.
        let c = try parse(header + header + member("a") + header + member("b") + Tar.endOfArchive, limits: limits)
        #expect(c.members.map(\.header.path) == ["a", "b"])
    }

    @Test("at most maxTrailingBytes zeros after the end-of-archive marker, however they are fed")
    func trailingZeros() throws {
        let tar = SegmentFixtures.tar([("a", [1])])
        let limit = ParserLimits().maxTrailingBytes
        #expect(limit == 10_240)
        for chunk in [1, 511, 4096, 20_000] {
            #expect(try parse(tar + [UInt8](repeating: 0, count: limit), limits: ParserLimits(), maxChunk: chunk).members.count == 1)
            let error = #expect(throws: TributaryError.self) {
                _ = try parse(tar + [UInt8](repeating: 0, count: limit + 1), limits: ParserLimits(), maxChunk: chunk)
            }
            #expect(error?.code == .corruptSegment)
        }
        expectCorrupt(tar + [0, 0, 7], limits: ParserLimits())
    }
}
