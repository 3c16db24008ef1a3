#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CPosix
import TributaryProtocol

/// POSIX file operations with the durability discipline spelled out: every helper that claims a
/// result is durable has fsync'd the file *and* the directory entry that names it.
public enum FileIO {
    public static func error(_ what: String, _ path: String, _ err: Int32 = errno) -> TributaryError {
        TributaryError(.io, "\(what) \(path): \(String(cString: strerror(err)))")
    }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw error("open", path) }
        return fd
    }

    public static func fsync(_ fd: Int32, _ path: String) throws {
        guard Glibc.fsync(fd) == 0 else { throw error("fsync", path) }
    }

    /// fsyncs a directory, making the creation, rename or removal of its entries durable.
    public static func fsyncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path)
    }

    /// Creates `path` and any missing parents; fsyncs the parent of each directory it creates.
    public static func makeDirectories(_ path: String) throws {
        var st = stat()
        if stat(path, &st) == 0 { return }
        let parent = dirname(of: path)
        if parent != path && !parent.isEmpty { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw error("mkdir", path) }
        try fsyncDirectory(parent.isEmpty ? "." : parent)
    }

    public static func dirname(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public static func size(_ path: String) throws -> UInt64 {
        var st = stat()
        guard stat(path, &st) == 0 else { throw error("stat", path) }
        return UInt64(st.st_size)
    }

    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws {
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw error("write", path)
            }
            off += n
        }
    }

    /// Replaces `path` with `bytes` atomically but not durably (temp file + rename, no fsync): for
    /// live views rebuilt at every start (status files, metrics textfiles) written many times a minute.
    public static func replace(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let tmp = path + ".tmp"
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        defer { close(fd) }
        try bytes.withUnsafeBytes { try writeAll(fd, $0, tmp) }
        guard rename(tmp, path) == 0 else { throw error("rename", tmp) }
    }

    /// Writes `bytes` to `path` atomically and durably: temp file, fsync, rename, fsync directory.
    public static func atomicWrite(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let tmp = path + ".tmp"
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do {
            try bytes.withUnsafeBytes { try writeAll(fd, $0, tmp) }
            try fsync(fd, tmp)
            close(fd)
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        guard rename(tmp, path) == 0 else { throw error("rename", tmp) }
        try fsyncDirectory(dirname(of: path))
    }

    public static func readAll(_ path: String, limit: Int = 64 * 1024 * 1024) throws -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw error("read", path) }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
            if out.count > limit { throw TributaryError(.io, "\(path) is larger than \(limit) bytes") }
        }
        return out
    }

    /// Names in a directory (no `.`/`..`); empty if it does not exist.
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Removes a file or a directory tree. Missing is fine.
    public static func removeTree(_ path: String) throws {
        if isDirectory(path) {
            for name in list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw error("rmdir", path) }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw error("unlink", path)
        }
    }

    /// Flushes the whole filesystem holding `path`: one call makes many written files durable
    /// (group commit), instead of one fsync per file.
    public static func syncFilesystem(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        guard tributary_syncfs(fd) == 0 else { throw error("syncfs", path) }
    }

    /// The sha256 of `length` bytes of `fd` at `offset`, read in 256 KiB pieces (from the page
    /// cache, typically: a chunk about to be sent from the same file); nil when the file ends first.
    public static func sha256(_ fd: Int32, offset: UInt64, length: UInt64, _ path: String) throws -> [UInt8]? {
        let digest = StreamingDigest(.sha256)
        var buffer = [UInt8](repeating: 0, count: Int(min(length, 256 * 1024)) + 1)
        var done: UInt64 = 0
        while done < length {
            let want = Int(min(UInt64(buffer.count), length - done))
            let n = try buffer.withUnsafeMutableBytes { try pread(fd, UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), offset: offset + done, path) }
            guard n > 0 else { return nil }
            buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            done += UInt64(n)
        }
        return digest.finalize()
    }

    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    public static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: UInt64, _ path: String) throws -> Int {
        var got = 0
        while got < buffer.count {
            let n = Glibc.pread(fd, buffer.baseAddress! + got, buffer.count - got, off_t(offset) + off_t(got))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("read", path)
            }
            if n == 0 { break }
            got += n
        }
        return got
    }
}
