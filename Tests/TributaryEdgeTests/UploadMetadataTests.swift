import Testing
import TributaryProtocol
@testable import TributaryEdge

/// The tus metadata the uploader sends (docs/PROTOCOL.md, "Uploads").
@Suite struct UploaderMetadataTests {
    static func segment() -> SpoolBatch {
        SpoolBatch(
            id: 7, kind: .segment, encoding: .zstd, file: "batches/7.seg", size: 2716, sha256: String(repeating: "a", count: 64),
            priority: 0, createdAt: "2026-03-01T00:00:00Z", uploadURL: nil, uploadOffset: 0, attempts: 0)
    }

    @Test func aSegmentSentInOnePatchLeavesOutItsSha256TheChecksumCoversIt() {
        let one = UploaderService.metadata(Self.segment(), [], oneChunk: true)
        #expect(one[MetadataKey.sha256] == nil)
        #expect(one[MetadataKey.kind] == "segment" && one[MetadataKey.encoding] == "zstd")
        let several = UploaderService.metadata(Self.segment(), [], oneChunk: false)
        #expect(several[MetadataKey.sha256] == String(repeating: "a", count: 64))
    }
}
