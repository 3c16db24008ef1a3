import Foundation
import Testing
import TributaryProtocol
import TributaryTestKit
@testable import TributaryEdge

@Suite struct SegmentCompressionTests {
    @Test func smallSegmentsGetTheSmallLevelNeverBelowTheConfiguredOne() {
        let p = SegmentCompression(level: 3, smallLevel: 19)
        #expect(p.level(contentBytes: 0) == 19)
        #expect(p.level(contentBytes: SegmentCompression.smallSegmentBytes) == 19)
        #expect(p.level(contentBytes: SegmentCompression.smallSegmentBytes + 1) == 3)
        #expect(p.level(contentBytes: .max) == 3)
        #expect(SegmentCompression(level: 9, smallLevel: 1).level(contentBytes: 10) == 9)
        #expect(SegmentCompression(level: 3, smallLevel: 3).level(contentBytes: 10) == 3)
    }

    @Test func configurationKeys() throws {
        var c = EdgeConfiguration()
        #expect(SegmentCompression(configuration: c) == SegmentCompression(level: 3, smallLevel: 19, manifestVersion: 2))
        try c.apply(["zstd_small_segment_level": "12", "segment_manifest_version": "1", "zstd_level": "5"])
        #expect(SegmentCompression(configuration: c) == SegmentCompression(level: 5, smallLevel: 12, manifestVersion: 1))
        for bad in [["zstd_small_segment_level": "20"], ["zstd_small_segment_level": "0"], ["segment_manifest_version": "3"]] {
            #expect(throws: ConfigurationError.self) {
                var c = EdgeConfiguration()
                try c.apply(bad)
            }
        }
    }

    /// Spool files of sensor CSV and their journal rows, as the builder reads them.
    static func spool(_ dir: TemporaryDirectory, count: Int) throws -> [SpoolObject] {
        try FileManager.default.createDirectory(atPath: dir.path("objects"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.path("incoming"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.path("batches"), withIntermediateDirectories: true)
        return try (0..<count).map { i in
            let bytes = SensorCSV.file(station: i, lines: 48, seed: UInt64(i + 1))
            try Data(bytes).write(to: URL(fileURLWithPath: dir.path("objects/\(i)")))
            return SpoolObject(
                id: Int64(i + 1), stream: "weather", name: "s\(i).csv", size: UInt64(bytes.count), sha256: StreamingDigest.sha256Hex(bytes),
                capturedAt: "2026-11-21T09:00:00.000Z", acceptedAt: "2026-11-21T09:00:00.000Z", priority: 0, file: "objects/\(i)",
                compressible: true, batchID: nil)
        }
    }

    @Test func theBuilderWritesCompactManifestsAtTheLevelOfTheSegmentsSize() throws {
        let dir = try TemporaryDirectory()
        let objects = try Self.spool(dir, count: 8)
        let entries = objects.map { (object: $0, ref: false) }
        let compact = BatchBuilder(spoolDirectory: dir.root, zstdLevel: 3, compression: SegmentCompression(level: 3, smallLevel: 19))
        let plain = BatchBuilder(spoolDirectory: dir.root, zstdLevel: 3)
        let small = try compact.buildSegment(entries)
        let before = try plain.buildSegment(entries)
        #expect(small.size < before.size)

        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.path(small.file))))
        var reader = SegmentReader(delegate: CollectingDelegate())
        try bytes.withUnsafeBytes { try reader.feed($0) }
        try reader.finish()
        #expect(reader.delegate.manifest?.version == 2)
        #expect(reader.manifest?.objects.map(\.sha256) == objects.map(\.sha256))
        let old = try SegmentFixtures.read(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.path(before.file)))))
        #expect(old.manifest?.version == 1)
    }
}
