#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

/// The uploads this node is working on: their creation info and state machines. Loaded lazily
/// from staging (so they survive restarts); committed ones are answered from the catalog.
public actor UploadRegistry {
    public struct Entry: Sendable {
        public var info: UploadInfo
        public var machine: UploadStateMachine
    }

    /// What a lookup found.
    public enum Found: Sendable {
        case active(Entry)
        /// Committed; the receipt JSON as stored in the catalog.
        case committed(site: String, receipt: [UInt8], length: UInt64)
    }

    public let staging: StagingArea
    private let catalog: any Catalog
    private var entries: [String: Entry] = [:]

    public init(staging: StagingArea, catalog: any Catalog) {
        self.staging = staging
        self.catalog = catalog
    }

    public func create(_ info: UploadInfo) throws {
        try staging.create(info)
        entries[info.id] = Entry(info: info, machine: UploadStateMachine(length: info.length, offset: 0, expiresAt: info.expiresAt))
    }

    /// Finds an upload and checks it belongs to `site`.
    public func lookup(_ id: String, site: String) async throws -> Found {
        guard id.utf8.count == 32, id.utf8.allSatisfy(Hex.isHexDigit) else { throw CoreError.notFound(id) }
        if let e = try entries[id] ?? loadFromStaging(id) {
            guard e.info.site == site else { throw CoreError.forbidden("upload \(id) belongs to another site") }
            if case .gone = e.machine.state { throw CoreError.notFound(id) }
            return .active(e)
        }
        if let stored = try await catalog.receipt(uploadID: id) {
            let r = try JSON.decode(CommitReceipt.self, stored.json)
            guard r.site == site else { throw CoreError.forbidden("upload \(id) belongs to another site") }
            return .committed(site: r.site, receipt: stored.json, length: stored.length)
        }
        throw CoreError.notFound(id)
    }

    private func loadFromStaging(_ id: String) throws -> Entry? {
        guard let (info, offset) = try staging.load(id) else { return nil }
        let e = Entry(info: info, machine: UploadStateMachine(length: info.length, offset: offset, expiresAt: info.expiresAt))
        entries[id] = e
        return e
    }

    /// What a PATCH should do.
    public enum PatchPlan: Sendable {
        case alreadyCommitted(receipt: [UInt8])
        case reject(UploadStateMachine.Rejection)
        case receive(UploadInfo, offset: UInt64, room: UInt64)
        case commit(UploadInfo)
    }

    public func patch(_ id: String, site: String, offset: UInt64, bodyLength: UInt64?, now: Date) async throws -> PatchPlan {
        switch try await lookup(id, site: site) {
        case .committed(_, let receipt, let length):
            // The client retries the final PATCH whose answer it lost: same answer again.
            return offset == length && (bodyLength ?? 0) == 0 ? .alreadyCommitted(receipt: receipt) : .reject(.offsetMismatch(expected: length))
        case .active(var e):
            let action = e.machine.patch(offset: offset, bodyLength: bodyLength, now: now)
            entries[id] = e
            switch action {
            case .reject(let r): return .reject(r)
            case .receive(let o, let room): return .receive(e.info, offset: o, room: room)
            case .commit: return .commit(e.info)
            case .alreadyCommitted: return .alreadyCommitted(receipt: try await catalog.receipt(uploadID: id)?.json ?? [])
            }
        }
    }

    public func chunkStored(_ id: String, count: UInt64) -> UploadStateMachine.ChunkAction {
        let action = entries[id]!.machine.chunkStored(count: count)
        return action
    }

    public func chunkDiscarded(_ id: String) {
        entries[id]?.machine.chunkDiscarded()
    }

    public func commitFinished(_ id: String, _ result: UploadStateMachine.CommitResult) {
        entries[id]?.machine.commitFinished(result)
        // Committed uploads are answered from the catalog; rejected ones are gone.
        if result != .failed { entries[id] = nil }
    }

    /// Termination. Returns false if the upload is already committed.
    public func terminate(_ id: String, site: String) async throws -> Bool {
        switch try await lookup(id, site: site) {
        case .committed:
            return false
        case .active(var e):
            guard !e.machine.busy else { throw CoreError.conflict("upload_busy", "upload \(id) is receiving a PATCH") }
            _ = e.machine.remove()
            try staging.remove(id)
            entries[id] = nil
            return true
        }
    }

    /// Removes expired uploads from staging; returns their ids.
    public func sweepExpired(now: Date) -> [String] {
        var swept: [String] = []
        for id in staging.uploadIDs() {
            guard let e = entries[id] ?? (try? loadFromStaging(id)), e.machine.isExpired(now: now), !e.machine.busy else { continue }
            if (try? staging.remove(id)) != nil {
                entries[id] = nil
                swept.append(id)
            }
        }
        return swept
    }

    /// Complete staged uploads that were never committed (a crash mid-commit): the caller commits them.
    public func pendingCommits() -> [UploadInfo] {
        staging.uploadIDs().compactMap { id -> UploadInfo? in
            guard let e = entries[id] ?? (try? loadFromStaging(id)), e.machine.state == .complete, !e.machine.busy else { return nil }
            // The same transition as an empty PATCH at the final offset; expiry does not apply to
            // bytes that were all received before the crash.
            _ = entries[id]!.machine.patch(offset: e.info.length, bodyLength: 0, now: Date.distantPast)
            return e.info
        }
    }
}
