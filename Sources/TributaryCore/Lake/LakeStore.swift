#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TributaryFiles
import TributaryProtocol

// The lake layout (docs/LAKE.md is the user-facing version).
//
//   <lake>/stream=<stream>/site=<site>/date=<YYYY-MM-DD>/<dirs>/<stem>.<sha256[0:16]><ext>
//       object bytes, exactly as the site sent them (decoded). The partition part comes from
//       `PartitionTemplate`; the date is the UTC day of captured-at (receive time if absent).
//   <lake>/_tributary/arrivals/stream=<s>/site=<x>/date=<d>/<committed-at>-<upload-id>.jsonl
//       one JSON line per arrival of that upload in that partition (stored and duplicate),
//       so a reader can pick up new arrivals incrementally by listing this prefix.
//   <lake>/_tributary/dictionaries/<sha256>.zdict
//       the zstd dictionaries sites compress segments with, content-addressed (`LakeDictionaries`).
//
// Invariants:
// - A key is written once, atomically, with fully fsync'd content, before the catalog names it.
//   A key's content is fixed by the key itself (it embeds the sha256), so re-placing a key after a
//   crash writes the same bytes.
// - Nothing outside `_tributary/` is anything but object data: data globs stay clean.
// - Arrival manifests are derived from the catalog and written after its commit; a crash in
//   between is repaired at start-up (they are rewritten from the catalog, idempotently).

/// One verified object ready to be placed: its scratch file, its key, and what the committer
/// measured of it while writing the scratch file.
public struct LakeFile: Sendable, Equatable {
    public var scratchPath: String
    public var key: String
    /// Lower-case hex sha256 of the file's bytes.
    public var sha256: String
    public var size: UInt64
    /// The object's bytes, held in memory instead of a scratch file (`scratchPath` is then
    /// empty): small members of a segment committed to a lake without a scratch directory
    /// (`SmallObjectMemory`).
    public var bytes: [UInt8]?
    /// The staged upload the object is the whole of (a single object), whose verified bytes these
    /// are: only its placement may complete what the lake shipped of it while it was received
    /// (`stagedBytesDurable`), since those bytes were not verified yet when they were shipped.
    public var uploadID: String?

    public init(scratchPath: String, key: String, sha256: String, size: UInt64, bytes: [UInt8]? = nil, uploadID: String? = nil) {
        self.scratchPath = scratchPath
        self.key = key
        self.sha256 = sha256
        self.size = size
        self.bytes = bytes
        self.uploadID = uploadID
    }

    /// The object's bytes from memory or its scratch file (at most `limit`).
    func contents(limit: Int) throws -> [UInt8] {
        if let bytes { return bytes }
        return try FileIO.readAll(scratchPath, limit: limit)
    }
}

/// Bytes of small segment members the committer may hold in memory at once, over all commits of
/// the process, instead of writing each to a scratch file that the S3 lake reads back for its
/// PUT (issue 14). A member is held only if it is at most `maxObjectBytes` and the budget has
/// room when it begins; otherwise it goes to a scratch file as before, so memory stays bounded
/// by `limitBytes` whatever the number of sites committing.
public final class SmallObjectMemory: Sendable {
    public static let shared = SmallObjectMemory(limitBytes: 8 << 20, maxObjectBytes: 256 << 10)
    public let limitBytes: Int
    public let maxObjectBytes: Int
    private let used = Mutex(0)

    public init(limitBytes: Int, maxObjectBytes: Int) {
        self.limitBytes = limitBytes
        self.maxObjectBytes = maxObjectBytes
    }

    /// Reserves `bytes` if they fit; false leaves nothing reserved.
    func reserve(_ bytes: UInt64) -> Bool {
        guard bytes <= UInt64(maxObjectBytes) else { return false }
        let n = Int(bytes)
        return used.withLock { u in
            guard u <= limitBytes - n else { return false }
            u += n
            return true
        }
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.withLock { $0 = max(0, $0 - bytes) }
    }

    /// Bytes reserved now (tests).
    public var reserved: Int { used.withLock { $0 } }
}

/// Where committed objects are laid down. `FileSystemLake` is the embedded default, `S3Lake`
/// the shared one of a scaled-out core; an in-memory twin serves the unit tests. Every backend
/// passes the same contract tests (Tests/TributaryCoreTests/LakeContractTests.swift).
///
/// Errors of the backend itself (unreachable, timeouts, refused writes) are `TributaryError(.io)`:
/// the commit is kept for a retry and the client told 503.
public protocol LakeStore: Sendable {
    /// A directory on the same filesystem as the lake where the committer writes objects before
    /// they are placed, or nil if the store takes uploads from anywhere — then `place` may also
    /// be given small objects as `LakeFile.bytes`, without a scratch file.
    var scratchDirectory: String? { get }

    /// Makes all files durable at their keys; returns only when every one is. When a key already
    /// exists it holds the same bytes (keys embed the sha256) and is left alone. Scratch files may
    /// be consumed (renamed) or left for the caller to delete.
    func place(_ files: [LakeFile]) async throws

    /// Writes a small derived file (an arrival manifest) atomically, replacing any previous one.
    func writeMetadata(key: String, bytes: [UInt8]) async throws

    /// Reads a small derived file (a dictionary) of at most `limit` bytes; nil when the key does
    /// not exist. More than `limit` bytes is an error, never a partial read.
    func readMetadata(key: String, limit: Int) async throws -> [UInt8]?

    /// Removes a key (used only to undo a placement that lost a dedup race).
    func remove(key: String) async throws

    /// Up to `maxBytes` of `key` from `offset` (fewer only at the end: empty past it), or nil if
    /// the key does not exist. The forwarder streams objects back out in such pieces.
    func read(key: String, offset: UInt64, maxBytes: Int) async throws -> [UInt8]?

    /// Whether the lake answers (readiness probe).
    func check() async throws

    /// Why `key` cannot be stored in this lake (too long for the store), or nil if it can. A key
    /// that does not fit is refused at creation (400) or at commit (422), never retried.
    func keyProblem(_ key: String) -> String?

    /// Start-up housekeeping, before recovery commits anything: removes what an interrupted run
    /// of this node left behind in the lake's working space — scratch files of commits that never
    /// finished; with S3, multipart uploads begun and left for a day. Best effort: what cannot be
    /// removed now is left for the next start. The default clears `scratchDirectory`.
    func clearLeftovers() async

    /// The first `durableBytes` of a staged upload that will become the single object `key`
    /// (`size` bytes, sha256 as declared at creation) are durable in `dataPath`. A lake may start
    /// moving them (S3: parts of a multipart upload, `S3PartShipper`); nothing of it may become
    /// visible before `place`. Must not block. The default does nothing.
    func stagedBytesDurable(_ upload: StagedObject)

    /// The staged upload will place its object under none but `keys` (empty: none at all —
    /// rejected, expired, terminated): what `stagedBytesDurable` began for another key is undone.
    /// Must not block. The default does nothing.
    func stagedUploadEnded(_ uploadID: String, placing keys: Set<String>, reason: String)
}

/// A staged upload that will become one lake object (`LakeStore.stagedBytesDurable`).
public struct StagedObject: Sendable, Equatable {
    public var uploadID: String
    public var key: String
    public var sha256: String
    public var size: UInt64
    public var durableBytes: UInt64
    public var dataPath: String

    public init(uploadID: String, key: String, sha256: String, size: UInt64, durableBytes: UInt64, dataPath: String) {
        self.uploadID = uploadID
        self.key = key
        self.sha256 = sha256
        self.size = size
        self.durableBytes = durableBytes
        self.dataPath = dataPath
    }
}

extension LakeStore {
    public func stagedBytesDurable(_ upload: StagedObject) {}
    public func stagedUploadEnded(_ uploadID: String, placing keys: Set<String>, reason: String) {}

    public func clearLeftovers() async {
        guard let scratch = scratchDirectory else { return }
        _ = try? await FileIO.offload { for name in FileIO.list(scratch) { unlink(scratch + "/" + name) } }
    }
}
