#if canImport(Glibc)
import Glibc
#endif
import Testing
import TributaryFiles
import TributaryProtocol
import TributaryTestKit

/// `FileIO.sha256(_:offset:length:_:)`: the chunk digest the edge's uploader and the core's
/// forwarder send with every PATCH (Upload-Checksum).
@Suite("File range digest")
struct FileRangeDigestTests {
    @Test("a range's sha256 is the sha256 of those bytes, across the 256 KiB read size")
    func rangeDigest() throws {
        let dir = try TemporaryDirectory()
        let bytes = (0..<700_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let path = dir.path("body")
        let fd = try FileIO.open(path, O_RDWR | O_CREAT | O_TRUNC)
        defer { close(fd) }
        try bytes.withUnsafeBytes { try FileIO.writeAll(fd, $0, path) }
        for (offset, length) in [(0, 700_000), (1, 262_144), (262_143, 300_001), (699_999, 1), (5, 0)] {
            let sha = try #require(try FileIO.sha256(fd, offset: UInt64(offset), length: UInt64(length), path))
            #expect(Hex.encode(sha) == StreamingDigest.sha256Hex(Array(bytes[offset..<(offset + length)])))
        }
    }

    @Test("a range past the end of the file is nil, not a digest of fewer bytes")
    func shortFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("short")
        let fd = try FileIO.open(path, O_RDWR | O_CREAT | O_TRUNC)
        defer { close(fd) }
        try [UInt8](repeating: 9, count: 1000).withUnsafeBytes { try FileIO.writeAll(fd, $0, path) }
        #expect(try FileIO.sha256(fd, offset: 0, length: 1001, path) == nil)
        #expect(try FileIO.sha256(fd, offset: 2000, length: 1, path) == nil)
    }
}
