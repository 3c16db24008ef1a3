#if canImport(Glibc)
import Glibc
#endif
import TributaryFiles
import TributaryProtocol

extension ForwarderService {
    /// Writes `item`'s body: a segment of its arrivals in their original order, each object read
    /// back from the lake in `readBytes` pieces and checked against its sha256 as it is written
    /// (`SegmentWriter`), content the upstream holds for the site as a reference. Written under
    /// a temporary name, fsync'd, renamed into place; then its journal.
    func build(_ item: ForwardItem, held: Set<String>) async throws -> ForwardSessionState {
        let refs = item.arrivals.map { held.contains($0.sha256) }
        let manifest = SegmentManifest(objects: zip(item.arrivals, refs).map { a, ref in
            ManifestEntry(stream: a.stream, name: a.name, size: a.size, sha256: a.sha256, capturedAt: a.capturedAt, ref: ref)
        })
        let final = spool.bodyPath(item.seq)
        let tmp = final + ".tmp"
        let level = configuration.zstdLevel
        let box = try await FileIO.offload { () throws -> SegmentBox in
            let fd = try FileIO.open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
            do {
                return SegmentBox(try SegmentWriter(sink: DigestingFileSink(fd: fd, path: tmp), manifest: manifest, level: level))
            } catch {
                close(fd)
                throw error
            }
        }
        do {
            for (a, ref) in zip(item.arrivals, refs) where !ref {
                try await FileIO.offload { _ = try box.writer.beginObject() }
                var offset: UInt64 = 0
                while offset < a.size {
                    let want = Int(min(UInt64(Self.readBytes), a.size - offset))
                    guard let piece = try await lake.read(key: a.key, offset: offset, maxBytes: want) else {
                        throw ForwardReadError(message: "\(a.key) is missing from the lake")
                    }
                    guard !piece.isEmpty else {
                        throw ForwardReadError(message: "\(a.key) has \(offset) bytes in the lake, the catalog says \(a.size)")
                    }
                    try await FileIO.offload { try piece.withUnsafeBytes { try box.writer.write($0) } }
                    offset += UInt64(piece.count)
                }
                do {
                    try await FileIO.offload { try box.writer.endObject() }
                } catch let e as TributaryError {
                    throw ForwardReadError(message: "\(a.key) in the lake does not match the catalog: \(e.message)")
                }
            }
            let (size, sha256) = try await FileIO.offload { () throws -> (UInt64, String) in
                let sink = try box.writer.finish()
                try FileIO.fsync(sink.fd, tmp)
                close(sink.fd)
                guard rename(tmp, final) == 0 else { throw FileIO.error("rename", tmp) }
                try FileIO.fsyncDirectory(FileIO.dirname(of: final))
                return (sink.size, sink.digest.finalizeHex())
            }
            let state = ForwardSessionState(seq: item.seq, uploadID: item.uploadID, size: size, sha256: sha256, refs: refs)
            try await FileIO.offload { [spool] in try spool.save(state) }
            return state
        } catch {
            close(box.writer.sink.fd)
            unlink(tmp)
            throw error
        }
    }
}

/// A segment being written, used by one task at a time across `FileIO.offload` hops.
final class SegmentBox: @unchecked Sendable {
    var writer: SegmentWriter<DigestingFileSink>
    init(_ writer: SegmentWriter<DigestingFileSink>) { self.writer = writer }
}

/// Writes to a file and hashes what it writes.
struct DigestingFileSink: ByteSink {
    let fd: Int32
    let path: String
    let digest = StreamingDigest(.sha256)
    var size: UInt64 = 0

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        try FileIO.writeAll(fd, bytes, path)
        digest.update(bytes)
        size += UInt64(bytes.count)
    }
}
