import Foundation
import Testing
import TributaryCore
import TributaryProtocol
import TributaryTestKit

/// Validation failures at commit: the upload is refused with a `TributaryError` that maps to a
/// 4xx answer, and nothing reaches the lake or the catalog.
@Suite("Committer rejections")
struct CommitterRejectionTests {
    static let content = TestBytes.compressible(4_000, seed: 51)

    func expectRefused(
        _ h: CommitterHarness, _ info: UploadInfo, _ code: TributaryError.Code, or other: TributaryError.Code? = nil, status: Int = 422,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let error = await #expect(throws: TributaryError.self, sourceLocation: sourceLocation) { _ = try await h.commit(info) }
        #expect(error.map { $0.code == code || $0.code == other } == true, "got \(error.map { "\($0)" } ?? "nothing")", sourceLocation: sourceLocation)
        if let error {
            #expect(CoreError.from(error).status.code == status, "HTTP status of \(error)", sourceLocation: sourceLocation)
        }
        #expect(h.lake.keys.isEmpty, sourceLocation: sourceLocation)
        #expect(try await h.catalog.receipt(uploadID: info.id) == nil, sourceLocation: sourceLocation)
        let scratch = (try? FileManager.default.contentsOfDirectory(atPath: h.staging.workDirectory(info.id))) ?? []
        #expect(scratch.isEmpty, "scratch files are cleaned: \(scratch)", sourceLocation: sourceLocation)
    }

    @Test("an object whose bytes do not match its declared sha256", arguments: CatalogKind.available)
    func objectChecksum(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let info = try h.stage(
            ["name": "a.csv", "stream": "s", "sha256": StreamingDigest.sha256Hex(Array("other".utf8))], body: Self.content)
        try await expectRefused(h, info, .checksumMismatch)
    }

    @Test("a zstd object whose body is not zstd", arguments: CatalogKind.available)
    func objectCorruptZstd(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let info = try h.stage(["name": "a.csv", "stream": "s", "encoding": "zstd"], body: Self.content)
        try await expectRefused(h, info, .corruptCompression)
    }

    @Test("a segment whose body does not match its declared sha256", arguments: CatalogKind.available)
    func segmentChecksum(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let body = try SegmentFixtures.segment([SegmentItem(name: "a.csv", bytes: Self.content)])
        let info = try h.stage(["kind": "segment", "sha256": String(repeating: "0", count: 64)], body: body)
        try await expectRefused(h, info, .checksumMismatch)
    }

    @Test("a corrupt segment", arguments: CatalogKind.available)
    func corruptSegment(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let a = SegmentItem(name: "a.csv", bytes: Self.content)
        let b = SegmentItem(name: "b.csv", bytes: Array("b".utf8))
        let tar = SegmentFixtures.tar([
            (SegmentManifest.memberName, try SegmentManifest(objects: [a.entry, b.entry]).encoded()), (a.entry.memberPath, a.bytes),
        ])
        let info = try h.stage(["kind": "segment"], body: try SegmentFixtures.compress(tar))
        try await expectRefused(h, info, .manifestMismatch)
    }

    /// docs/PROTOCOL.md, "Segments": an entry with a bad name/stream/timestamp rejects the whole
    /// upload with 422, like every other defect found at commit. The code may stay the entry's
    /// own (`invalid_name`, …) or become `corrupt_segment`; the status must be 422.
    @Test(
        "a segment whose manifest has a bad name, stream or timestamp is refused with 422",
        arguments: [
            ("vibration", "../escape.csv", nil, TributaryError.Code.invalidName),
            ("bad stream", "a.csv", nil, .invalidStream),
            ("vibration", "a.csv", "yesterday", .invalidTimestamp),
        ] as [(String, String, String?, TributaryError.Code)])
    func segmentBadEntry(stream: String, name: String, capturedAt: String?, code: TributaryError.Code) async throws {
        let h = try await CommitterHarness(.memory)
        let item = SegmentItem(stream: stream, name: name, bytes: Self.content, capturedAt: capturedAt)
        let tar = SegmentFixtures.tar([
            (SegmentManifest.memberName, try SegmentManifest(objects: [item.entry]).encoded()), (item.entry.memberPath, item.bytes),
        ])
        let info = try h.stage(["kind": "segment"], body: try SegmentFixtures.compress(tar))
        try await expectRefused(h, info, code, or: .corruptSegment, status: 422)
    }

    @Test("an upload that decodes past maxDecodedBytes", arguments: CatalogKind.available)
    func decompressionBomb(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind, maxDecodedBytes: 1_000)
        let object = try h.stage(["name": "a.csv", "stream": "s", "encoding": "zstd"], body: try SegmentFixtures.compress(Self.content))
        try await expectRefused(h, object, .tooLarge, status: 413)
        let segment = try h.stageSegment([SegmentItem(name: "a.csv", bytes: Self.content)])
        try await expectRefused(h, segment, .tooLarge, status: 413)
    }

    @Test("staged data shorter than Upload-Length is a transient error, not a rejection")
    func shortData() async throws {
        let h = try await CommitterHarness(.memory)
        let info = try h.stageObject(name: "a.csv", bytes: Self.content)
        try Data(Self.content.dropLast()).write(to: URL(fileURLWithPath: h.staging.dataPath(info.id)))
        let error = await #expect(throws: TributaryError.self) { _ = try await h.commit(info) }
        #expect(error?.code == .io)
        #expect(h.isStaged(info.id), "the upload stays staged for a retry")
    }
}
