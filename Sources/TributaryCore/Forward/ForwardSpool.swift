#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryDelivery
import TributaryFiles
import TributaryProtocol

// The forwarder's working files, per target (`<data-dir>/forward/<sha256(url)[0:16]>/`):
//
//   <seq>.seg    the upload's body: a segment written from the lake (zstd tar, SegmentWriter),
//                fsync'd and renamed into place before any byte of it is sent
//   <seq>.json   the session journal (`ForwardSessionState`): the upload URL at the upstream and
//                the durable counts the session keeps; atomically replaced on each change
//
// Both exist only for the upload in hand. A body is kept until the cursor moves past its upload
// (a session resumed after a crash sends the same bytes to the same URL); a body whose upload was
// refused as built (a `ref` the upstream no longer holds, content refused) is rebuilt. Files of
// uploads at or before the cursor are removed (`sweep`).

/// The durable part of one forward session (`<seq>.json`).
struct ForwardSessionState: Codable, Sendable, Equatable {
    var seq: Int64
    var uploadID: String
    var size: UInt64
    var sha256: String
    /// Per arrival: whether it went as a reference (the upstream held its content).
    var refs: [Bool]
    var url: String?
    var offset: UInt64 = 0
    var creationRefusals = 0
    var commitFailures = 0
    var wastedBytes: UInt64 = 0
}

/// The files of one target.
struct ForwardSpool: Sendable {
    let directory: String

    init(root: String, target: String) throws {
        directory = root + "/" + String(Hex.encode(StreamingDigest.sha256(Array(target.utf8))).prefix(16))
        try FileIO.makeDirectories(directory)
    }

    func bodyPath(_ seq: Int64) -> String { directory + "/\(seq).seg" }
    func statePath(_ seq: Int64) -> String { directory + "/\(seq).json" }

    /// The journal of `seq` if its body is there too; nil otherwise (build it).
    func load(_ seq: Int64) -> ForwardSessionState? {
        guard FileIO.exists(bodyPath(seq)), let bytes = try? FileIO.readAll(statePath(seq), limit: 1 << 20),
              let s = try? JSONDecoder().decode(ForwardSessionState.self, from: Data(bytes)), s.seq == seq
        else { return nil }
        return s
    }

    func save(_ s: ForwardSessionState) throws {
        try FileIO.atomicWrite(statePath(s.seq), Array(try JSONEncoder().encode(s)))
    }

    /// Forgets `seq`'s body and journal.
    func discard(_ seq: Int64) {
        unlink(statePath(seq))
        unlink(bodyPath(seq))
    }

    /// Removes the files of uploads at or before `position` and half-written ones.
    func sweep(through position: Int64) {
        for name in FileIO.list(directory) {
            let stem = name.split(separator: ".").first.map(String.init) ?? ""
            if name.hasSuffix(".tmp") || (Int64(stem).map { $0 <= position } ?? true) { unlink(directory + "/" + name) }
        }
    }
}

/// A `SessionJournal` over the session's state file. Used from the session's blocking thread only.
final class ForwardJournal: SessionJournal, @unchecked Sendable {
    let spool: ForwardSpool
    private(set) var state: ForwardSessionState
    /// Body bytes that reached the upstream, and bytes sent and lost (for the metrics).
    private(set) var sentBytes: UInt64 = 0
    private(set) var counts: [String: Int] = [:]

    init(spool: ForwardSpool, state: ForwardSessionState) {
        self.spool = spool
        self.state = state
    }

    func recordUpload(url: String?) throws {
        state.url = url
        state.offset = 0
        try spool.save(state)
    }

    func recordProgress(offset: UInt64, length: UInt64) throws {
        sentBytes += length
        state.offset = offset
        // The URL is what a resumed session needs (it asks the upstream's offset); the offset
        // is informational, not worth an fsync per chunk.
    }

    func recordCreationRefusal() throws {
        state.creationRefusals += 1
        try spool.save(state)
    }

    func recordCommitFailure() throws {
        state.commitFailures += 1
        try spool.save(state)
    }

    func count(_ name: String) throws { counts[name, default: 0] += 1 }

    func wasted(bytes: UInt64) throws { state.wastedBytes += bytes }
}
