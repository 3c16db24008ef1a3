import Foundation
import Testing
import TributaryProtocol
import TributaryTestKit

@Suite("zstd dictionaries")
struct ZstdDictionaryTests {
    static let dictionary: ZstdDictionary = {
        let s = SensorCSV.samples(count: 300)
        return ZstdDictionary.train(samples: s.bytes, sizes: s.sizes, capacity: 16 * 1024)!
    }()

    static func items(_ n: Int, seed: UInt64 = 1000) -> [SegmentItem] {
        (0..<n).map { SegmentItem(name: "s-\($0).csv", bytes: SensorCSV.file(station: $0 % 17, lines: 24, seed: seed + UInt64($0))) }
    }

    @Test("training makes a zstd-format dictionary within its capacity, content-addressed")
    func training() throws {
        let d = Self.dictionary
        #expect(d.bytes.count <= 16 * 1024)
        #expect(d.bytes.count > 1024)
        #expect(d.zstdID != 0)
        #expect(d.id == StreamingDigest.sha256Hex(d.bytes))
        #expect(try ZstdDictionary(validating: d.bytes) == d)
        // Too little to learn from.
        #expect(ZstdDictionary.train(samples: Array("a,b\n".utf8), sizes: [4], capacity: 16 * 1024) == nil)
        // Sizes that do not add up to the samples are refused before zstd sees them.
        #expect(ZstdDictionary.train(samples: [1, 2, 3], sizes: [4], capacity: 16 * 1024) == nil)
    }

    @Test("a segment with a dictionary reads back with it, and is smaller than without")
    func roundTrip() throws {
        let items = Self.items(12)
        let with = try SegmentFixtures.segment(items, dictionary: Self.dictionary)
        let without = try SegmentFixtures.segment(items)
        let seen = try SegmentFixtures.read(with, maxChunk: 257, dictionary: Self.dictionary)
        #expect(seen.objects.map(\.bytes) == items.map(\.bytes))
        #expect(with.count < without.count)
        #expect(with.withUnsafeBytes { ZstdDictionary.frameDictionaryID($0) } == Self.dictionary.zstdID)
        #expect(without.withUnsafeBytes { ZstdDictionary.frameDictionaryID($0) } == 0)
        // A segment without a dictionary still reads (the reader is given none).
        #expect(try SegmentFixtures.read(without).objects.count == 12)
    }

    @Test("a frame is never decoded without its dictionary or with another one")
    func mismatch() throws {
        let items = Self.items(5)
        let with = try SegmentFixtures.segment(items, dictionary: Self.dictionary)
        let e1 = #expect(throws: TributaryError.self) { _ = try SegmentFixtures.read(with) }
        #expect(e1?.code == .corruptCompression)
        let s = SensorCSV.samples(count: 200, lines: 30)
        let other = try #require(ZstdDictionary.train(samples: Array(s.bytes.reversed()), sizes: s.sizes.reversed(), capacity: 8 * 1024))
        #expect(other.zstdID != Self.dictionary.zstdID)
        let e2 = #expect(throws: TributaryError.self) { _ = try SegmentFixtures.read(with, dictionary: other) }
        #expect(e2?.code == .corruptCompression)
    }

    @Test("validation refuses what is not a loadable zstd dictionary, and oversized ones")
    func validation() throws {
        let d = Self.dictionary.bytes
        func code(_ b: [UInt8], max: Int = ZstdDictionary.maxBytes) -> TributaryError.Code? {
            do { _ = try ZstdDictionary(validating: b, maxBytes: max); return nil } catch let e as TributaryError { return e.code } catch { return nil }
        }
        #expect(code([]) == .invalidDictionary)
        #expect(code(Array("time,station\n".utf8)) == .invalidDictionary)  // raw content: no magic, no ID
        var noID = d
        for i in 4..<8 { noID[i] = 0 }
        #expect(code(noID) == .invalidDictionary)
        // Damaged entropy tables right after the header.
        var damaged = d
        for i in 8..<min(200, damaged.count) { damaged[i] = 0xFF }
        #expect(code(damaged) == .invalidDictionary)
        #expect(code(Array(d.prefix(12))) == .invalidDictionary)
        #expect(code(d, max: d.count - 1) == .tooLarge)
        #expect(code(d) == nil)
    }
}
