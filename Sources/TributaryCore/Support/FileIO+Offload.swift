#if canImport(Glibc)
import Glibc
#endif
import NIOPosix
import TributaryFiles

/// The core's executors for blocking work; nothing blocking runs on Swift's cooperative pool.
///
/// - `io`: PATCH body writes, their fsyncs and offset writes, staging and quarantine files,
///   arrival manifests (NIO's shared blocking pool).
/// - `commits`: the commit's one streaming pass (hash, decompress, verify, write scratch files)
///   and the filesystem lake's group flush. A separate pool of its own, so that however many
///   heavy commits run, live uploads of other sites keep their threads; commits beyond its width
///   wait their turn.
/// - SQLite: a serial queue per database (`SQLiteCatalog`); PostgreSQL and S3 are non-blocking
///   (postgres-nio) or on their own threads (libcurl, `BlockingThread`).
public enum BlockingPools {
    public static let io: NIOThreadPool = .singleton
    /// Width 2: commits are CPU-bound (sha256, zstd) and this is a small machine's default.
    public static let commits: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()
}

/// Hummingbird exports a `FileIO` of its own (serving files), which files importing both saw
/// beside this one; inside TributaryCore the name means one type, the durability helpers.
typealias FileIO = TributaryFiles.FileIO

extension FileIO {
    /// Runs blocking file work off the Swift concurrency pool, on `pool` (default `BlockingPools.io`).
    static func offload<T: Sendable>(on pool: NIOThreadPool = BlockingPools.io, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }
}

extension FileIO {
    /// Bytes available to this process on the filesystem holding `path` (statvfs).
    static func freeBytes(_ path: String) throws -> UInt64 {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { throw FileIO.error("statvfs", path) }
        return UInt64(s.f_bavail).multipliedReportingOverflow(by: UInt64(s.f_frsize)).partialValue
    }
}
