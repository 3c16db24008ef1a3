#if canImport(Glibc)
import Glibc
#endif
import TributaryProtocol
import TributaryFiles

// Staging layout (node-local; see docs/ARCHITECTURE.md):
//
//   <data-dir>/staging/<upload-id>/info.json   creation request (UploadInfo), written once
//   <data-dir>/staging/<upload-id>/data        the bytes received so far
//   <data-dir>/staging/<upload-id>/offset      durable offset, decimal; replaced atomically
//   <data-dir>/staging/<upload-id>/work/       the committer's scratch space (recreated per attempt)
//   <data-dir>/staging/<upload-id>/attempts    commit attempts (CommitAttempts JSON), fsync'd before
//                                              each attempt begins
//   <data-dir>/staging/<upload-id>/placed      lake keys an attempt is about to place, one a line,
//                                              fsync'd before placement: whatever the final receipt
//                                              does not name is removed from the lake before the
//                                              staging directory goes (a dedup-race loser's copy)
//   <data-dir>/quarantine/<upload-id>/         an upload set aside (the staging directory, moved),
//                                              with reason.json (QuarantineRecord)
//
// Invariants:
// - `offset` is written only after `data` is fsync'd up to it: the offset HEAD reports is durable.
// - Bytes of `data` past `offset` are garbage (an unacknowledged or unverified chunk) and are cut
//   off when the upload is loaded. `data` is never extended: if it is shorter than `offset` (the
//   offset file was renamed in but its chunk then cut away after a failed directory fsync), the
//   offset is lowered to what `data` durably holds.
// - An upload directory exists iff the upload was created and is neither committed-and-cleaned,
//   terminated, rejected nor swept. Creation is durable (info.json and the directory fsync'd)
//   before 201 is answered.

/// Node-local storage of partial uploads.
public struct StagingArea: Sendable {
    public let root: String

    /// Where quarantined uploads go: `quarantine/` beside `staging/`, on the same filesystem.
    public let quarantineRoot: String

    public init(root: String) throws {
        self.root = root
        self.quarantineRoot = FileIO.dirname(of: root) + "/quarantine"
        try FileIO.makeDirectories(root)
        try FileIO.makeDirectories(quarantineRoot)
    }

    public func directory(_ id: String) -> String { root + "/" + id }
    public func dataPath(_ id: String) -> String { directory(id) + "/data" }
    public func workDirectory(_ id: String) -> String { directory(id) + "/work" }

    /// Upload ids present in staging.
    public func uploadIDs() -> [String] {
        FileIO.list(root).filter { $0.utf8.count == 32 && $0.utf8.allSatisfy { Hex.isHexDigit($0) } }
    }

    public func create(_ info: UploadInfo) throws {
        let dir = directory(info.id)
        guard mkdir(dir, 0o755) == 0 else { throw FileIO.error("mkdir", dir) }
        let fd = try FileIO.open(dataPath(info.id), O_WRONLY | O_CREAT | O_EXCL)
        defer { close(fd) }
        try FileIO.fsync(fd, dataPath(info.id))
        try FileIO.atomicWrite(dir + "/info.json", try JSON.encode(info))
        try FileIO.fsyncDirectory(root)
    }

    /// Loads an upload, cutting `data` back to the durable offset.
    public func load(_ id: String) throws -> (UploadInfo, offset: UInt64)? {
        let dir = directory(id)
        guard FileIO.exists(dir + "/info.json") else { return nil }
        let info = try JSON.decode(UploadInfo.self, try FileIO.readAll(dir + "/info.json"))
        var offset: UInt64 = 0
        if FileIO.exists(dir + "/offset") {
            let text = String(decoding: try FileIO.readAll(dir + "/offset", limit: 64), as: UTF8.self)
            guard let o = UInt64(text), o <= info.length else { throw TributaryError(.io, "upload \(id): offset file is corrupt") }
            offset = o
        }
        let size = try FileIO.size(dataPath(id))
        if size < offset {
            // Never extend `data` with zeros: the durable offset is what `data` holds.
            offset = size
            try persistOffset(id, offset)
        }
        try truncate(id, to: offset)
        return (info, offset)
    }

    /// Cuts `data` back to `offset` (never extends it).
    public func truncate(_ id: String, to offset: UInt64) throws {
        let path = dataPath(id)
        if try FileIO.size(path) > offset {
            guard Glibc.truncate(path, off_t(offset)) == 0 else { throw FileIO.error("truncate", path) }
            let fd = try FileIO.open(path, O_WRONLY)
            defer { close(fd) }
            try FileIO.fsync(fd, path)
        }
    }

    /// Records a new durable offset (the data must already be fsync'd up to it).
    public func persistOffset(_ id: String, _ offset: UInt64) throws {
        try FileIO.atomicWrite(directory(id) + "/offset", Array(String(offset).utf8))
    }

    // MARK: commit attempts, placement journal, quarantine

    public func attempts(_ id: String) -> CommitAttempts {
        guard let bytes = try? FileIO.readAll(directory(id) + "/attempts", limit: 4096) else { return CommitAttempts() }
        return (try? JSON.decode(CommitAttempts.self, bytes)) ?? CommitAttempts()
    }

    public func writeAttempts(_ id: String, _ a: CommitAttempts) throws {
        try FileIO.atomicWrite(directory(id) + "/attempts", try JSON.encode(a))
    }

    /// Keys recorded by `recordPlacing` in this or an earlier attempt.
    public func placedKeys(_ id: String) -> Set<String> {
        guard let bytes = try? FileIO.readAll(directory(id) + "/placed", limit: 256 << 20) else { return [] }
        return Set(String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init))
    }

    /// Durably adds `keys` to the upload's placement journal before they are placed.
    public func recordPlacing(_ id: String, _ keys: [String]) throws {
        guard !keys.isEmpty else { return }
        let all = placedKeys(id).union(keys)
        try FileIO.atomicWrite(directory(id) + "/placed", Array(all.sorted().joined(separator: "\n").utf8))
    }

    /// Moves the upload aside with its reason (rename within the data directory, both parents
    /// fsync'd). Its bytes are kept for an operator; it is no longer in staging.
    public func quarantine(_ id: String, _ record: QuarantineRecord) throws {
        let dest = quarantineRoot + "/" + id
        try FileIO.atomicWrite(directory(id) + "/reason.json", try JSON.encode(record))
        if FileIO.exists(dest) { try FileIO.removeTree(dest) }
        guard rename(directory(id), dest) == 0 else { throw FileIO.error("rename into quarantine", dest) }
        try FileIO.fsyncDirectory(quarantineRoot)
        try FileIO.fsyncDirectory(root)
    }

    /// The record of a quarantined upload, if `id` is one.
    public func quarantined(_ id: String) -> QuarantineRecord? {
        guard let bytes = try? FileIO.readAll(quarantineRoot + "/" + id + "/reason.json", limit: 64 << 10) else { return nil }
        return try? JSON.decode(QuarantineRecord.self, bytes)
    }

    public func quarantinedIDs() -> [String] {
        FileIO.list(quarantineRoot).filter { $0.utf8.count == 32 && $0.utf8.allSatisfy { Hex.isHexDigit($0) } }
    }

    public func remove(_ id: String) throws {
        try FileIO.removeTree(directory(id))
        try FileIO.fsyncDirectory(root)
    }
}

extension Hex {
    static func isHexDigit(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) }
}
