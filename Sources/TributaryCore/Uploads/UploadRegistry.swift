#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryFiles
import TributaryProtocol

/// Told when more of an upload is durable in staging, and when an upload ends without a commit
/// (rejected or quarantined at commit, expired, terminated): the committer, which lets the lake
/// move a large object's bytes ahead of its commit (`LakeStore.stagedBytesDurable`). Called on the
/// registry's actor: must not block.
public protocol StagingObserver: Sendable {
    func durable(_ info: UploadInfo, bytes: UInt64)
    func ended(_ info: UploadInfo, reason: String)
}

/// The uploads this node is working on: their creation info and state machines, and what each
/// site has open (for `SiteLimits`). Bookkeeping only: every file operation runs outside the
/// actor on the I/O pool (`FileIO.offload`), so a slow disk never holds the actor — and with it
/// every other site's requests.
///
/// Staged uploads are loaded at start-up (`loadAll`, by the recovery service) and lazily by id
/// before that finishes; a load of one id runs once however many requests ask for it.
/// Committed uploads are answered from the catalog, quarantined ones from their record.
public actor UploadRegistry {
    public struct Entry: Sendable {
        public var info: UploadInfo
        public var machine: UploadStateMachine
        /// The hash of the durable bytes received so far, when this node saw them all arrive
        /// (`UploadDigest`); nil after a restart, and the commit hashes the staged bytes.
        public var digest: UploadDigest?
    }

    /// What a lookup found.
    public enum Found: Sendable {
        case active(Entry)
        /// Committed; the receipt JSON as stored in the catalog.
        case committed(receipt: [UInt8], length: UInt64)
    }

    public let staging: StagingArea
    private let catalog: any Catalog
    private var entries: [String: Entry] = [:]
    private var usage: [String: SiteUsage] = [:]
    private var loading: [String: Task<Entry?, any Error>] = [:]
    private var quarantined: [String: QuarantineRecord] = [:]
    private var commitWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    private let observer: (any StagingObserver)?

    public init(staging: StagingArea, catalog: any Catalog, observer: (any StagingObserver)? = nil) {
        self.staging = staging
        self.catalog = catalog
        self.observer = observer
    }

    // MARK: bookkeeping of open uploads

    private func insert(_ e: Entry) {
        if let old = entries[e.info.id] { uncount(old.info) }
        entries[e.info.id] = e
        usage[e.info.site, default: SiteUsage()].openUploads += 1
        usage[e.info.site, default: SiteUsage()].stagedBytes += e.info.length
    }

    private func drop(_ id: String) {
        guard let e = entries.removeValue(forKey: id) else { return }
        uncount(e.info)
    }

    private func uncount(_ info: UploadInfo) {
        guard var u = usage[info.site] else { return }
        u.openUploads = max(0, u.openUploads - 1)
        u.stagedBytes = u.stagedBytes >= info.length ? u.stagedBytes - info.length : 0
        usage[info.site] = u.openUploads == 0 ? nil : u
    }

    /// What `site` has open on this node.
    public func usage(of site: String) -> SiteUsage { usage[site] ?? SiteUsage() }

    // MARK: creation

    /// Admits a new upload under `limits` and reserves its place; the caller then makes it
    /// durable in staging and calls `created` (or `abandon` if that failed). `freeBytes`: free
    /// space of the staging filesystem now.
    public func admit(_ info: UploadInfo, limits: SiteLimits, freeBytes: UInt64) throws(LimitRefusal) {
        var nodeStaged: UInt64 = 0
        var unwritten: UInt64 = 0
        for e in entries.values {
            nodeStaged = nodeStaged.addingReportingOverflow(e.info.length).partialValue
            unwritten = unwritten.addingReportingOverflow(e.info.length - e.machine.offset).partialValue
        }
        if let refusal = limits.admitCreation(
            length: info.length, site: usage(of: info.site), nodeStagedBytes: nodeStaged, unwrittenBytes: unwritten, freeBytes: freeBytes)
        {
            throw refusal
        }
        insert(Entry(info: info, machine: UploadStateMachine(length: info.length, offset: 0, expiresAt: info.expiresAt)))
    }

    /// The reserved upload could not be made durable: forget it.
    public func abandon(_ id: String) { drop(id) }

    // MARK: lookup

    /// Finds an upload and checks it belongs to `site`.
    public func lookup(_ id: String, site: String) async throws -> Found {
        guard id.utf8.count == 32, id.utf8.allSatisfy(Hex.isHexDigit) else { throw DomainError.noUpload(id) }
        if let q = quarantined[id] {
            guard q.site == site else { throw DomainError(.forbidden, "upload \(id) belongs to another site") }
            throw TributaryError(.quarantined, "upload \(id) was set aside: \(q.reason)")
        }
        if let e = try await entry(id) {
            guard e.info.site == site else { throw DomainError(.forbidden, "upload \(id) belongs to another site") }
            if case .gone = e.machine.state { throw DomainError.noUpload(id) }
            return .active(e)
        }
        if let stored = try await catalog.receipt(uploadID: id) {
            let r = try JSON.decode(CommitReceipt.self, stored.json)
            // A relay's upload on behalf of another site stays the relay's.
            guard (r.relay ?? r.site) == site else { throw DomainError(.forbidden, "upload \(id) belongs to another site") }
            return .committed(receipt: stored.json, length: stored.length)
        }
        throw DomainError.noUpload(id)
    }

    /// The entry of `id`, loaded from staging (off the actor, once) if this node has not yet.
    private func entry(_ id: String) async throws -> Entry? {
        if let e = entries[id] { return e }
        if let running = loading[id] { return try await running.value }
        let staging = self.staging
        let task = Task<Entry?, any Error> {
            guard let (info, offset) = try await FileIO.offload({ try staging.load(id) }) else { return nil }
            return Entry(info: info, machine: UploadStateMachine(length: info.length, offset: offset, expiresAt: info.expiresAt))
        }
        loading[id] = task
        defer { loading[id] = nil }
        let loaded = try await task.value
        if let loaded, entries[id] == nil { insert(loaded) }
        return entries[id]
    }

    /// Loads every staged upload and every quarantine record (start-up). Uploads whose staging
    /// cannot be read are logged by the caller and skipped.
    public func loadAll() async -> [(id: String, error: any Error)] {
        let staging = self.staging
        let (ids, quarantinedIDs) = (try? await FileIO.offload { (staging.uploadIDs(), staging.quarantinedIDs()) }) ?? ([], [])
        var failures: [(String, any Error)] = []
        for id in ids {
            do { _ = try await entry(id) } catch { failures.append((id, error)) }
        }
        for id in quarantinedIDs where quarantined[id] == nil {
            if let r = try? await FileIO.offload({ staging.quarantined(id) }) { quarantined[id] = r }
        }
        return failures
    }

    // MARK: PATCH

    /// What a PATCH should do.
    public enum PatchPlan: Sendable {
        case alreadyCommitted
        case reject(UploadStateMachine.Rejection)
        case receive(UploadInfo, offset: UInt64, room: UInt64)
        case commit(UploadInfo)
    }

    public func patch(_ id: String, site: String, offset: UInt64, bodyLength: UInt64?, now: Date) async throws -> PatchPlan {
        switch try await lookup(id, site: site) {
        case .committed(_, let length):
            return Self.plan(UploadStateMachine.patchCommitted(length: length, offset: offset, bodyLength: bodyLength), info: nil)
        case .active(var e):
            let action = e.machine.patch(offset: offset, bodyLength: bodyLength, now: now)
            entries[id] = e
            return Self.plan(action, info: e.info)
        }
    }

    private static func plan(_ action: UploadStateMachine.PatchAction, info: UploadInfo?) -> PatchPlan {
        switch action {
        case .reject(let r): return .reject(r)
        case .alreadyCommitted: return .alreadyCommitted
        case .receive(let o, let room):
            guard let info else { return .reject(.gone) }
            return .receive(info, offset: o, room: room)
        case .commit:
            guard let info else { return .reject(.gone) }
            return .commit(info)
        }
    }

    /// Waits until a commit of `id` that is running now (the final PATCH of another request, or
    /// start-up recovery) has finished; returns at once if none is.
    public func waitForRunningCommit(_ id: String) async {
        guard let e = entries[id], e.machine.busy, e.machine.state == .complete else { return }
        await withCheckedContinuation { commitWaiters[id, default: []].append($0) }
    }

    /// Records a durable chunk of `count` bytes and, when the PATCH hashed it, the running hash
    /// of the upload's durable bytes (kept only if it ends at the new offset; `UploadDigest`).
    public func chunkStored(_ id: String, count: UInt64, digest: UploadDigest? = nil) throws -> UploadStateMachine.ChunkAction {
        guard var e = entries[id] else { throw TributaryError(.io, "upload \(id) vanished while a chunk was stored") }
        let action = e.machine.chunkStored(count: count)
        e.digest = digest.flatMap { $0.offset == e.machine.offset ? $0 : nil }
        entries[id] = e
        if count > 0 { observer?.durable(e.info, bytes: e.machine.offset) }
        return action
    }

    /// The running hash a PATCH of `id` at `offset` continues (`UploadDigest.continuing`); the
    /// PATCH holds it until it hands it back with `chunkStored`.
    public func takeDigest(_ id: String, at offset: UInt64) -> UploadDigest? {
        let kept = entries[id]?.digest
        entries[id]?.digest = nil
        return UploadDigest.continuing(at: offset, kept: kept)
    }

    /// The sha256 of `id`'s staged bytes if this node hashed all `length` of them as they arrived.
    public func stagedSHA256(_ id: String, length: UInt64) -> String? {
        guard let d = entries[id]?.digest, d.offset == length else { return nil }
        return d.sha256Hex()
    }

    public func chunkDiscarded(_ id: String) {
        entries[id]?.machine.chunkDiscarded()
    }

    public func commitFinished(_ id: String, _ result: UploadStateMachine.CommitResult) {
        if result == .rejected, let info = entries[id]?.info { observer?.ended(info, reason: "rejected") }
        entries[id]?.machine.commitFinished(result)
        // Committed uploads are answered from the catalog; rejected ones are gone.
        if result != .failed { drop(id) }
        for w in commitWaiters.removeValue(forKey: id) ?? [] { w.resume() }
    }

    /// The upload was set aside (its staging moved to quarantine).
    public func quarantine(_ record: QuarantineRecord) {
        quarantined[record.uploadID] = record
        commitFinished(record.uploadID, .rejected)
    }

    // MARK: termination, expiry, recovery

    /// Termination. Returns false if the upload is already committed.
    public func terminate(_ id: String, site: String) async throws -> Bool {
        switch try await lookup(id, site: site) {
        case .committed:
            return false
        case .active(let e):
            var machine = e.machine
            switch machine.terminate() {
            case .alreadyCommitted: return false
            case .reject(.busy): throw DomainError(.uploadBusy, "upload \(id) is receiving a PATCH")
            case .reject: throw DomainError.noUpload(id)
            case .remove:
                // Gone at once (a PATCH arriving while the bytes are removed is refused); a failed
                // removal puts the upload back as it was, so the client may DELETE again.
                entries[id]?.machine = machine
                let staging = self.staging
                do { try await FileIO.offload { try staging.remove(id) } } catch {
                    entries[id]?.machine = e.machine
                    throw error
                }
                observer?.ended(e.info, reason: "terminated")
                drop(id)
                return true
            }
        }
    }

    /// Removes expired uploads from staging; returns their ids. An upload whose staging cannot
    /// be removed now stays as it was and is tried again at the next sweep.
    public func sweepExpired(now: Date) async -> [String] {
        var swept: [String] = []
        let staging = self.staging
        for (id, e) in entries {
            var machine = e.machine
            guard machine.sweep(now: now) else { continue }
            entries[id]?.machine = machine
            if (try? await FileIO.offload({ try staging.remove(id) })) != nil {
                observer?.ended(e.info, reason: "expired")
                drop(id)
                swept.append(id)
            } else {
                entries[id]?.machine = e.machine
            }
        }
        return swept
    }

    /// Complete staged uploads that were never committed (a crash mid-commit), moved to the
    /// commit state: the caller commits each and reports through `commitFinished`.
    public func pendingCommits() -> [UploadInfo] {
        var out: [UploadInfo] = []
        for (id, e) in entries {
            var machine = e.machine
            if machine.recover() {
                entries[id]?.machine = machine
                out.append(e.info)
            }
        }
        return out.sorted { $0.createdAt < $1.createdAt }
    }
}
