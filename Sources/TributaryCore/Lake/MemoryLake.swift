import Synchronization
import TributaryProtocol
import TributaryFiles

/// The in-memory twin of the lake, for unit tests of the committer.
public final class MemoryLake: LakeStore {
    private let state = Mutex<[String: [UInt8]]>([:])

    public init() {}

    public var scratchDirectory: String? { nil }

    public var keys: [String] { state.withLock { Array($0.keys).sorted() } }

    public func bytes(at key: String) -> [UInt8]? { state.withLock { $0[key] } }

    public func place(_ files: [LakeFile]) async throws {
        for f in files {
            let data = try f.contents(limit: 1 << 30)
            state.withLock { if $0[f.key] == nil { $0[f.key] = data } }
        }
    }

    public func writeMetadata(key: String, bytes: [UInt8]) async throws {
        state.withLock { $0[key] = bytes }
    }

    public func readMetadata(key: String, limit: Int) async throws -> [UInt8]? {
        guard let b = state.withLock({ $0[key] }) else { return nil }
        guard b.count <= limit else { throw TributaryError(.io, "\(key) is larger than \(limit) bytes") }
        return b
    }

    public func remove(key: String) async throws {
        _ = state.withLock { $0.removeValue(forKey: key) }
    }

    public func read(key: String, offset: UInt64, maxBytes: Int) async throws -> [UInt8]? {
        guard let b = bytes(at: key) else { return nil }
        guard offset < UInt64(b.count) else { return [] }
        let start = Int(offset)
        return Array(b[start..<min(b.count, start + max(0, maxBytes))])
    }

    public func check() async throws {}

    public func keyProblem(_ key: String) -> String? { FileSystemLake.keyProblem(key, root: "") }

    /// What the committer told the lake of staged uploads (`stagedBytesDurable`, `stagedUploadEnded`),
    /// in order, for the committer's tests.
    public enum StagedCall: Sendable, Equatable {
        case durable(StagedObject)
        case ended(uploadID: String, placing: Set<String>, reason: String)
    }

    private let calls = Mutex<[StagedCall]>([])
    public var stagedCalls: [StagedCall] { calls.withLock { $0 } }

    public func stagedBytesDurable(_ upload: StagedObject) { calls.withLock { $0.append(.durable(upload)) } }

    public func stagedUploadEnded(_ uploadID: String, placing keys: Set<String>, reason: String) {
        calls.withLock { $0.append(.ended(uploadID: uploadID, placing: keys, reason: reason)) }
    }
}
