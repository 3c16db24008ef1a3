#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import TributaryFiles
import TributaryProtocol

/// A file to take into the spool.
public struct IntakeItem: Sendable {
    public var sourcePath: String
    public var stream: String
    public var name: String
    /// RFC 3339; nil takes the file's mtime.
    public var capturedAt: String?
    /// Remember the source's identity in the journal (inbox files), so it is taken once.
    public var rememberSource: Bool
    /// For a copy of a bucket object: the version it is, remembered with the object.
    public var origin: SourceVersion?
    /// The caller removes the source once it is accepted (inbox policy `delete`, `put --move`): the
    /// spool may then take the file itself by a hard link instead of a copy (`IntakeMethod`).
    public var removesSource: Bool

    public init(
        sourcePath: String, stream: String, name: String, capturedAt: String? = nil, rememberSource: Bool = false,
        origin: SourceVersion? = nil, removesSource: Bool = false
    ) {
        self.origin = origin
        self.removesSource = removesSource
        self.sourcePath = sourcePath
        self.stream = stream
        self.name = name
        self.capturedAt = capturedAt
        self.rememberSource = rememberSource
    }
}

/// Why one file was not taken. The file is left where it was: nothing accepted is lost.
public struct IntakeRefusal: Error, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        case vanished, unreadable, notRegular = "not-a-regular-file", symlink, changed, invalidName = "invalid-name", io
    }
    public var item: IntakeItem
    public var reason: Reason
    public var message: String
    public var description: String { "\(Names.printable(item.sourcePath)): \(message)" }
}

public struct IntakeResult: Sendable {
    public var accepted: [NewObject] = []
    public var refused: [IntakeRefusal] = []
    public var dropped: [DroppedObject] = []
}

/// Takes files into the spool: a hard link or a copy (`IntakeMethod`), hashed while read once, one
/// `syncfs` for the whole group (the files' data and the `objects/` entries), one journal transaction
/// (the group commit), then — only then — the caller may remove the sources.
public final class SpoolIntake: @unchecked Sendable {
    public let directory: String
    public let journal: Journal
    let logger: Logger
    /// The filesystem of `objects/` (nil if it cannot be stat'ed: then every file is copied).
    let spoolDevice: UInt64?

    public init(directory: String, logger: Logger) throws {
        self.directory = directory
        self.logger = logger
        for d in [directory, directory + "/objects", directory + "/batches", directory + "/incoming"] {
            try FileIO.makeDirectories(d)
        }
        journal = try Journal(spoolDirectory: directory)
        var st = stat()
        spoolDevice = stat(directory + "/objects", &st) == 0 ? UInt64(st.st_dev) : nil
    }

    /// Removes what a crash left between writing and journaling (the sources are still in place),
    /// holding the intake lock exclusively so a `put` in progress is not mistaken for a crash
    /// (`IntakeLock`). Returns false, having removed nothing, when `wait` is false and a `put` holds it.
    @discardableResult
    public func removeLeftovers(wait: Bool = true) throws -> Bool {
        guard let lock = try IntakeLock(spool: directory, exclusive: true, wait: wait) else { return false }
        defer { withExtendedLifetime(lock) {} }
        for name in FileIO.list(directory + "/incoming") { try FileIO.removeTree(directory + "/incoming/" + name) }
        let referenced = try journal.referencedFiles()
        for dir in ["objects", "batches"] {
            for name in FileIO.list(directory + "/" + dir) where !referenced.contains(dir + "/" + name) {
                logger.info("removing leftover spool file (written, never journaled)", metadata: ["file": "\(dir)/\(name)"])
                try FileIO.removeTree(directory + "/" + dir + "/" + name)
            }
        }
        return true
    }

    /// Takes `items` as one group. Files that cannot be taken are refused individually; the rest are
    /// accepted together. Throws `SpoolFullError` (policy `block`) with nothing accepted.
    public func ingest(_ items: [IntakeItem], configuration c: EdgeConfiguration, now: Date = Date()) throws -> IntakeResult {
        // Shared with other takers, exclusive of the start-up clean-up: from the first copy to the commit.
        let lock = try IntakeLock(spool: directory, exclusive: false)
        defer { withExtendedLifetime(lock) {} }
        var result = IntakeResult()
        var copies: [(item: IntakeItem, object: NewObject)] = []
        defer {
            // Copies never journaled (refusal, full spool, error) are removed.
            if result.accepted.isEmpty { for c in copies { unlink(directory + "/" + c.object.file) } }
        }
        // Check the limits first so a full spool (block) does not cost a copy.
        let policy = SpoolPolicy(configuration: c)
        if policy.full == .block {
            let use = try journal.usage()
            if policy.takesNothing(.init(bytes: use.bytes, objects: use.objects)) {
                throw SpoolFullError(reason: .atLimit, needBytes: 0, usedBytes: use.bytes, maxBytes: c.maxSpoolBytes, usedObjects: use.objects, maxObjects: c.maxSpoolObjects)
            }
        }
        // One read buffer and one sampling compressor for the whole group (not one each per file:
        // allocating and zeroing them was a large part of a small file's cost).
        var buffer = ReadBuffer()
        let sampler = CompressibilitySample()
        for item in items {
            do {
                try Names.validateStream(item.stream)
                try Names.validateObjectName(item.name)
            } catch {
                result.refused.append(IntakeRefusal(item: item, reason: .invalidName, message: "refused: \(error)"))
                continue
            }
            switch copyIn(item, priority: c.priority(of: item.stream), buffer: &buffer, sampler: sampler) {
            case .success(let object): copies.append((item, object))
            case .failure(let refusal): result.refused.append(refusal)
            }
        }
        guard !copies.isEmpty else { return result }
        try FileIO.syncFilesystem(directory + "/objects")
        CrashPoints.hit("intake.after-copy")
        let dropped = try journal.accept(copies.map(\.object), acceptedAt: Timestamp.format(now), policy: policy)
        result.accepted = copies.map(\.object)
        CrashPoints.hit("intake.after-journal")
        for d in dropped {
            logger.warning(
                "spool full: dropped the oldest pending object (drop-oldest)",
                metadata: ["stream": "\(d.stream)", "name": "\(Names.printable(d.name))", "size": "\(d.size)", "sha256": "\(d.sha256)", "captured_at": "\(d.capturedAt)"])
            unlink(directory + "/" + d.file)
        }
        result.dropped = dropped
        return result
    }

    /// Takes one file into objects/ (not yet durable, not yet journaled) by a hard link or a copy
    /// (`IntakeMethod`), hashing it in the same one read.
    private func copyIn(_ item: IntakeItem, priority: Int, buffer: inout ReadBuffer, sampler: CompressibilitySample) -> Result<NewObject, IntakeRefusal> {
        func refuse(_ r: IntakeRefusal.Reason, _ m: String) -> Result<NewObject, IntakeRefusal> {
            .failure(IntakeRefusal(item: item, reason: r, message: m))
        }
        let src = open(item.sourcePath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if src < 0 {
            let e = errno
            switch e {
            case ENOENT: return refuse(.vanished, "vanished before it could be taken")
            case ELOOP: return refuse(.symlink, "refused: symbolic links are not followed (move the file itself into the inbox)")
            case EACCES, EPERM: return refuse(.unreadable, "cannot be read (permission denied); it stays until it is readable")
            default: return refuse(.io, "cannot be opened: \(String(cString: strerror(e)))")
            }
        }
        defer { close(src) }
        var before = stat()
        guard fstat(src, &before) == 0 else { return refuse(.io, "fstat failed: \(String(cString: strerror(errno)))") }
        guard (before.st_mode & S_IFMT) == S_IFREG else { return refuse(.notRegular, "refused: not a regular file") }
        let rel = "objects/" + Hex.encode(secureRandomBytes(12))
        let dstPath = directory + "/" + rel
        var method = IntakeMethod.choose(
            sourceRemovedAfter: item.removesSource, sourceDevice: UInt64(before.st_dev), spoolDevice: spoolDevice,
            links: UInt64(before.st_nlink))
        if method == .link && !linkIn(item.sourcePath, dstPath, opened: before) { method = .copy }
        var dst: Int32 = -1
        if method == .copy {
            dst = open(dstPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard dst >= 0 else { return refuse(.io, "cannot create \(dstPath): \(String(cString: strerror(errno)))") }
        }
        var ok = false
        defer {
            if dst >= 0 { close(dst) }
            if !ok { unlink(dstPath) }
        }
        let digest = StreamingDigest(.sha256)
        sampler.begin()
        var copied: UInt64 = 0
        // Read up to the size fstat gave, not on to a read that returns 0: a file that grows
        // meanwhile fails the size check below either way.
        let expected = UInt64(max(0, before.st_size))
        do {
            while copied < expected {
                let n = try buffer.bytes.withUnsafeMutableBytes { try FileIO.pread(src, $0, offset: copied, item.sourcePath) }
                if n == 0 { break }
                try buffer.bytes.withUnsafeBytes { raw in
                    let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                    digest.update(chunk)
                    sampler.feed(chunk)
                    if dst >= 0 { try FileIO.writeAll(dst, chunk, dstPath) }
                }
                copied += UInt64(n)
            }
        } catch {
            return refuse(.io, "\(method == .copy ? "copy" : "read") failed: \(error)")
        }
        var after = stat()
        guard fstat(src, &after) == 0 else { return refuse(.io, "fstat failed: \(String(cString: strerror(errno)))") }
        guard after.st_size == before.st_size, UInt64(after.st_size) == copied,
            after.st_mtim.tv_sec == before.st_mtim.tv_sec, after.st_mtim.tv_nsec == before.st_mtim.tv_nsec
        else {
            return refuse(.changed, "changed while being taken (still being written?); it will be taken once it settles")
        }
        let mtimeNs = Int64(after.st_mtim.tv_sec) * 1_000_000_000 + Int64(after.st_mtim.tv_nsec)
        let captured = item.capturedAt ?? Timestamp.format(Date(timeIntervalSince1970: Double(mtimeNs) / 1e9))
        ok = true
        return .success(NewObject(
            stream: item.stream, name: item.name, size: copied, sha256: digest.finalizeHex(), capturedAt: captured,
            priority: priority, file: rel, compressible: sampler.compressible, linked: method == .link,
            source: item.rememberSource
                ? TakenFile(path: item.sourcePath, size: copied, mtimeNanoseconds: mtimeNs, inode: UInt64(after.st_ino)) : nil,
            origin: item.origin))
    }

    /// Hard-links `source` as `dst`; true when `dst` is now the very file opened (`opened`). False,
    /// with nothing left behind, when the link is refused (EXDEV, EPERM, EMLINK, no hard links on
    /// this filesystem) or the path named another file by then (replaced by a rename): the caller
    /// then copies from the file it opened.
    private func linkIn(_ source: String, _ dst: String, opened: stat) -> Bool {
        guard link(source, dst) == 0 else { return false }
        var l = stat()
        if lstat(dst, &l) == 0, l.st_ino == opened.st_ino, l.st_dev == opened.st_dev { return true }
        unlink(dst)
        return false
    }
}

/// The 256 KiB a group's files are read through, allocated once per group and never zeroed.
struct ReadBuffer {
    static let size = 256 * 1024
    var bytes = [UInt8](unsafeUninitializedCapacity: ReadBuffer.size) { _, count in count = ReadBuffer.size }
}

/// Decides from the first 128 KiB whether content is worth compressing: zstd level 1 must save
/// at least 10 %. Already-compressed data (JPEG, gzip, zstd) is then sent as it is.
/// One sample serves a whole intake group, file after file (`begin`): its compressor (one zstd
/// frame per file, sized for a 128 KiB sample) and its buffer are reused.
final class CompressibilitySample {
    static let sampleBytes = 128 * 1024
    private var sample: [UInt8] = []
    private var compressor: ZstdCompressor?

    /// Starts the sample of the next file.
    func begin() { sample.removeAll(keepingCapacity: true) }

    func feed(_ bytes: UnsafeRawBufferPointer) {
        guard sample.count < Self.sampleBytes else { return }
        sample.append(contentsOf: bytes.prefix(Self.sampleBytes - sample.count))
    }

    var compressible: Bool {
        guard sample.count >= 64 else { return true }
        let z = compressor ?? ZstdCompressor(level: 1, checksum: false, sizeHint: UInt64(Self.sampleBytes))
        var out = 0
        do {
            try sample.withUnsafeBytes { try z.compress($0) { out += $0.count } }
            try z.finish { out += $0.count }  // ends the frame: the next file starts a new one
            compressor = z
        } catch {
            compressor = nil  // a frame left half-done is not continued
            return true
        }
        return Double(out) < Double(sample.count) * 0.9
    }
}
