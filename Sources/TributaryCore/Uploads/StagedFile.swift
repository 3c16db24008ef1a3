#if canImport(Glibc)
import Glibc
#endif
import TributaryFiles
import TributaryProtocol

/// The `data` file of one upload open for one PATCH, with the digest of the chunk's
/// `Upload-Checksum` and the running sha256 of the whole upload (`UploadDigest`): opened, hashed,
/// written and fsync'd on the I/O pool.
///
/// `@unchecked Sendable`: one request uses it at a time (the upload's busy lock), handing it from
/// its task to a pool thread and back for each step; every hop goes through the pool's queue, which
/// orders the accesses. Nothing else ever sees it.
final class StagedFile: @unchecked Sendable {
    private var fd: Int32 = -1
    private var path = ""
    private let digest: StreamingDigest?
    private var uploadDigest: UploadDigest?

    init(digest: StreamingDigest?, uploadDigest: UploadDigest?) {
        self.digest = digest
        self.uploadDigest = uploadDigest
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
            uploadDigest?.update(raw)
            do { try FileIO.writeAll(fd, raw, path) } catch {
                // Part of the block may be on disk and the hash has all of it: drop the hash.
                uploadDigest = nil
                throw error
            }
        }
    }

    /// Hands back the upload's running hash (nil if this PATCH had none or a write failed). Call
    /// once, after `syncAndClose`.
    func takeUploadDigest() -> UploadDigest? {
        defer { uploadDigest = nil }
        return uploadDigest
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

/// The running sha256 of an upload's staged `data`, over its first `offset` bytes, kept in memory
/// between PATCH requests so that the commit need not read the staged bytes again to hash them
/// (one pass over the bytes: they are hashed while they are received).
///
/// Rules (the registry keeps one per open upload, `UploadRegistry.Entry.digest`):
/// - A PATCH at offset 0 starts a fresh one; a PATCH at the kept one's offset takes it over
///   (`UploadRegistry.takeDigest`); at any other offset none is used.
/// - A PATCH hashes exactly the bytes it writes and hands the digest back with its durable chunk
///   (`UploadRegistry.chunkStored`), which keeps it only if it ends at the new durable offset. A
///   discarded chunk (or a failed write) loses it: the commit then hashes the staged bytes.
/// - Nothing of it is persisted: after a crash or restart the commit (recovery's or a later
///   PATCH's) hashes the staged bytes as they are read.
///
/// `@unchecked Sendable`: like `StagedFile`, one holder at a time — the registry, or the one PATCH
/// that took it (the upload's busy lock), through the I/O pool's queue — never two.
public final class UploadDigest: @unchecked Sendable {
    /// How many bytes of `data` it has seen.
    public private(set) var offset: UInt64 = 0
    private let hasher = StreamingDigest(.sha256)
    private var hex: String?

    public init() {}

    /// Hashes the next bytes of `data` (none once the hash was taken: then it stays as it is).
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard hex == nil else { return }
        hasher.update(bytes)
        offset += UInt64(bytes.count)
    }

    /// The lower-case hex sha256 of the `offset` bytes; no more bytes are hashed after it.
    public func sha256Hex() -> String {
        if let hex { return hex }
        let h = hasher.finalizeHex()
        hex = h
        return h
    }

    /// The digest a PATCH at `offset` hashes into: a fresh one at 0, the kept one at its own
    /// offset (unless its hash was already taken), none otherwise.
    public static func continuing(at offset: UInt64, kept: UploadDigest?) -> UploadDigest? {
        if offset == 0 { return UploadDigest() }
        guard let kept, kept.offset == offset, kept.hex == nil else { return nil }
        return kept
    }
}
