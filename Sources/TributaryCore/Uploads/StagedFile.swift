#if canImport(Glibc)
import Glibc
#endif
import TributaryFiles
import TributaryProtocol

/// The `data` file of one upload open for one PATCH, with the digest of the chunk's
/// `Upload-Checksum`: opened, hashed, written and fsync'd on the I/O pool.
///
/// `@unchecked Sendable`: one request uses it at a time (the upload's busy lock), handing it from
/// its task to a pool thread and back for each step; every hop goes through the pool's queue, which
/// orders the accesses. Nothing else ever sees it.
final class StagedFile: @unchecked Sendable {
    private var fd: Int32 = -1
    private var path = ""
    private let digest: StreamingDigest?

    init(digest: StreamingDigest?) {
        self.digest = digest
    }

    /// Opens `path` for writing at `offset`.
    func open(_ path: String, at offset: UInt64) throws {
        let fd = try FileIO.open(path, O_WRONLY)
        guard offset <= UInt64(Int64.max), lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
            close(fd)
            throw FileIO.error("lseek", path)
        }
        self.fd = fd
        self.path = path
    }

    /// Hashes (when a checksum was given) and writes one block.
    func write(_ bytes: [UInt8]) throws {
        guard fd >= 0 else { throw TributaryError(.io, "staged file is closed") }
        try bytes.withUnsafeBytes { raw in
            digest?.update(raw)
            try FileIO.writeAll(fd, raw, path)
        }
    }

    /// The digest of everything written.
    func finalizeDigest() -> [UInt8]? { digest?.finalize() }

    /// Makes what was written durable, then closes.
    func syncAndClose() throws {
        guard fd >= 0 else { throw TributaryError(.io, "staged file is closed") }
        let fd = self.fd
        self.fd = -1
        defer { close(fd) }
        try FileIO.fsync(fd, path)
    }

    func closeIfOpen() {
        if fd >= 0 { close(fd) }
        fd = -1
    }
}
