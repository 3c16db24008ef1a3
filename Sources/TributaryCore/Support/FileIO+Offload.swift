import NIOPosix
import TributaryFiles

extension FileIO {
    /// Runs blocking file work (fsync, hashing, decompression) off the Swift concurrency pool.
    static func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
