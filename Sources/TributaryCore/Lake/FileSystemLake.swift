#if canImport(Glibc)
import Glibc
#endif
import CPosix
import TributaryProtocol
import TributaryFiles

/// The embedded lake: a directory tree. Objects are staged in `<root>/_tributary/tmp`, on the
/// same filesystem, so placing them is a rename.
///
/// Group commit: `place` makes all staged files durable with one `syncfs` of the lake's
/// filesystem (one fsync when there is a single file), renames them all, then fsyncs each touched
/// directory once — one flush round per upload, not one per object.
public struct FileSystemLake: LakeStore {
    public let root: String

    public init(root: String) throws {
        self.root = root
        try FileIO.makeDirectories(root + "/_tributary/tmp")
    }

    public var scratchDirectory: String? { root + "/_tributary/tmp" }

    public func place(_ files: [LakeFile]) async throws {
        let root = self.root
        try await FileIO.offload(on: BlockingPools.commits) {
            if files.count == 1 {
                let fd = try FileIO.open(files[0].scratchPath, O_RDONLY)
                defer { close(fd) }
                try FileIO.fsync(fd, files[0].scratchPath)
            } else if files.count > 1 {
                let scratch = FileIO.dirname(of: files[0].scratchPath)
                let fd = try FileIO.open(scratch, O_RDONLY | O_DIRECTORY)
                defer { close(fd) }
                guard tributary_syncfs(fd) == 0 else { throw FileIO.error("syncfs", scratch) }
            }
            var dirs = Set<String>()
            for f in files {
                // The committer holds objects in memory only for lakes without a scratch directory.
                guard f.bytes == nil else { throw TributaryError(.io, "the filesystem lake places scratch files, not bytes") }
                if let problem = Self.keyProblem(f.key, root: root) { throw TributaryError(.unplaceable, problem) }
                let dest = root + "/" + f.key
                let dir = FileIO.dirname(of: dest)
                // The directory is fsync'd even when the key exists: the earlier attempt that
                // renamed it there may have died before its own directory fsync.
                if dirs.insert(dir).inserted { try FileIO.makeDirectories(dir) }
                if FileIO.exists(dest) {
                    // Same key ⇒ same sha256 ⇒ same bytes (a commit retried after a crash).
                    unlink(f.scratchPath)
                    continue
                }
                guard rename(f.scratchPath, dest) == 0 else { throw FileIO.error("rename into lake", dest) }
            }
            for d in dirs.sorted() { try FileIO.fsyncDirectory(d) }
        }
    }

    public func writeMetadata(key: String, bytes: [UInt8]) async throws {
        let path = root + "/" + key
        try await FileIO.offload {
            try FileIO.makeDirectories(FileIO.dirname(of: path))
            try FileIO.atomicWrite(path, bytes)
        }
    }

    public func readMetadata(key: String, limit: Int) async throws -> [UInt8]? {
        let path = root + "/" + key
        return try await FileIO.offload {
            guard access(path, F_OK) == 0 else { return nil }
            return try FileIO.readAll(path, limit: limit)
        }
    }

    public func remove(key: String) async throws {
        let path = root + "/" + key
        try await FileIO.offload {
            if unlink(path) != 0 && errno != ENOENT { throw FileIO.error("unlink", path) }
            try FileIO.fsyncDirectory(FileIO.dirname(of: path))
        }
    }

    public func read(key: String, offset: UInt64, maxBytes: Int) async throws -> [UInt8]? {
        let path = root + "/" + key
        return try await FileIO.offload {
            let fd: Int32
            do { fd = try FileIO.open(path, O_RDONLY) } catch { if errno == ENOENT { return nil } else { throw error } }
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: max(0, maxBytes))
            var filled = 0
            while filled < buffer.count {
                let n = try buffer.withUnsafeMutableBytes {
                    try FileIO.pread(fd, UnsafeMutableRawBufferPointer(rebasing: $0[filled...]), offset: offset + UInt64(filled), path)
                }
                if n <= 0 { break }
                filled += n
            }
            return Array(buffer[0..<filled])
        }
    }

    public func check() async throws {
        guard FileIO.isDirectory(root) else { throw TributaryError(.io, "lake directory \(root) is missing") }
    }

    public func keyProblem(_ key: String) -> String? { Self.keyProblem(key, root: root) }

    /// A key fits when each component is at most 255 bytes (NAME_MAX) and the whole path at most
    /// 4095 (PATH_MAX less its terminator).
    static func keyProblem(_ key: String, root: String) -> String? {
        // One pass over the bytes (called for every object of a commit).
        var component = 0
        for b in key.utf8 {
            if b == UInt8(ascii: "/") {
                if component > PartitionTemplate.maxComponentBytes { return Self.longComponent(component) }
                component = 0
            } else {
                component += 1
            }
        }
        if component > PartitionTemplate.maxComponentBytes { return Self.longComponent(component) }
        let total = root.utf8.count + 1 + key.utf8.count
        if total > 4095 { return "the lake path would be \(total) bytes; the filesystem allows 4095" }
        return nil
    }

    static func longComponent(_ bytes: Int) -> String {
        "the lake key has a component of \(bytes) bytes; the filesystem allows \(PartitionTemplate.maxComponentBytes)"
    }
}
