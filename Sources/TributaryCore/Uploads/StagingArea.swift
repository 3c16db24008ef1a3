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
//
// Invariants:
// - `offset` is written only after `data` is fsync'd up to it: the offset HEAD reports is durable.
// - Bytes of `data` past `offset` are garbage (an unacknowledged or unverified chunk) and are cut
//   off when the upload is loaded.
// - An upload directory exists iff the upload was created and is neither committed-and-cleaned,
//   terminated, rejected nor swept. Creation is durable (info.json and the directory fsync'd)
//   before 201 is answered.

/// Node-local storage of partial uploads.
public struct StagingArea: Sendable {
    public let root: String

    public init(root: String) throws {
        self.root = root
        try FileIO.makeDirectories(root)
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
            let text = String(decoding: try FileIO.readAll(dir + "/offset"), as: UTF8.self)
            guard let o = UInt64(text), o <= info.length else { throw TributaryError(.io, "\(dir)/offset is corrupt") }
            offset = o
        }
        try truncate(id, to: offset)
        return (info, offset)
    }

    public func truncate(_ id: String, to offset: UInt64) throws {
        let path = dataPath(id)
        if try FileIO.size(path) != offset {
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

    public func remove(_ id: String) throws {
        try FileIO.removeTree(directory(id))
        try FileIO.fsyncDirectory(root)
    }
}

extension Hex {
    static func isHexDigit(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) }
}
