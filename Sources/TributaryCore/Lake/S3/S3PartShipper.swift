#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import TributaryFiles
import TributaryProtocol

/// The I/O of part pipelining (`PartPipeline` decides): creates the multipart upload of a large
/// object being received, ships its durable parts from the staged file by range (never the whole
/// object in memory; requests on curl's threads, hashing on the I/O pool), records each part in
/// the multipart state file `S3Multipart` resumes from, and aborts what will not be completed.
///
/// Durability is unchanged: the staged file stays the source of truth for tus offsets and resume;
/// the parts are an acceleration the commit uses if they are there. After a restart the state
/// file is found again: a resumed upload adopts the recorded multipart upload and its parts (their
/// bytes lie below the durable offset, which never changes), and a commit (recovery's or the
/// final PATCH's) completes it; an upload that ends without it aborts it by its recorded id.
final class S3PartShipper: Sendable {
    struct Staged: Sendable {
        var sha256: String
        var dataPath: String
    }

    private struct Inner: Sendable {
        var machine: PartPipeline
        /// What was recorded of each pipelined upload's multipart upload, by staged upload id.
        var records: [String: S3Multipart.State] = [:]
        var staged: [String: Staged] = [:]
        /// Commits waiting in `takeOver`, by object key.
        var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    }

    let multipart: S3Multipart
    let logger: Logger
    private let inner: Mutex<Inner>
    /// Serialises the writes of state files, so that a later record is never overwritten by an
    /// earlier one.
    private let saving = Mutex<Void>(())

    init(multipart: S3Multipart, limit: Int, logger: Logger) {
        self.multipart = multipart
        self.logger = logger
        inner = Mutex(Inner(machine: PartPipeline(limit: limit)))
    }

    /// `durable` bytes of a staged upload whose object goes to `objectKey` are durable.
    func received(upload id: String, objectKey: String, sha256: String, size: UInt64, durable: UInt64, dataPath: String) {
        let partSize = multipart.client.settings.partSizeBytes
        let actions = inner.withLock { s in
            let a = s.machine.received(upload: id, key: objectKey, size: size, partSize: partSize, durable: durable)
            if s.machine.uploads[id] != nil, s.staged[id] == nil { s.staged[id] = Staged(sha256: sha256, dataPath: dataPath) }
            return a
        }
        perform(actions)
    }

    /// Upload `id` will not place its object under any key but `keys` (lake object keys): its
    /// multipart upload is aborted unless its key is among them. An upload this process does not
    /// pipeline (a restart came between) is looked up in the recorded states.
    func ended(upload id: String, keeping keys: Set<String>, reason: String) {
        let known = inner.withLock { s -> (Bool, [PartPipeline.Action]) in
            guard let u = s.machine.uploads[id] else { return (false, []) }
            return (true, keys.contains(u.key) ? [] : s.machine.end(upload: id, reason: reason))
        }
        if known.0 {
            perform(known.1)
            return
        }
        let multipart = self.multipart
        Task {
            let recorded = (try? await FileIO.offload { multipart.states(ofUpload: id) }) ?? []
            for (path, state) in recorded where !keys.contains(state.key) {
                await multipart.abort(state, reason: reason)
                _ = try? await FileIO.offload { try FileIO.removeTree(path) }
                logger.info("aborted the multipart upload of an ended upload", metadata: ["upload.id": "\(id)", "lake.key": "\(state.key)"])
            }
        }
    }

    /// The commit is about to place `objectKey`: waits until no part of it is in flight; from
    /// then on its multipart upload is the commit's (through the state file).
    func takeOver(_ objectKey: String) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let (actions, ready) = inner.withLock { s in
                let a = s.machine.takeOver(key: objectKey)
                let ready = a.contains(.release(key: objectKey))
                if !ready { s.waiters[objectKey, default: []].append(c) }
                return (a.filter { $0 != .release(key: objectKey) }, ready)
            }
            perform(actions)
            if ready { c.resume() }
        }
        // The pipeline's bookkeeping of that upload is over (the state file stays for the commit).
        inner.withLock { s in
            for (id, r) in s.records where r.key == objectKey && s.machine.uploads[id] == nil {
                s.records[id] = nil
                s.staged[id] = nil
            }
        }
    }

    /// Parts in flight now (tests).
    var inFlight: Int { inner.withLock { $0.machine.inFlight } }

    private func perform(_ actions: [PartPipeline.Action]) {
        for action in actions {
            switch action {
            case .create(let id, let key):
                Task { await self.create(id, key) }
            case .ship(let id, let key, let uploadID, let part, let offset, let length):
                Task { await self.ship(id, key: key, uploadID: uploadID, part: part, offset: offset, length: length) }
            case .abort(let id, let key, let uploadID, let reason):
                Task { await self.abort(id, key: key, uploadID: uploadID, reason: reason) }
            case .release(let key):
                let waiting = inner.withLock { $0.waiters.removeValue(forKey: key) ?? [] }
                for c in waiting { c.resume() }
            }
        }
    }

    /// Adopts the multipart upload recorded for `key` if it is of the same bytes (a restart came
    /// between), else creates one and records it.
    private func create(_ id: String, _ key: String) async {
        let (staged, size) = inner.withLock { s in (s.staged[id], s.machine.uploads[id]?.size) }
        guard let staged, let size else { return }
        let partSize = multipart.client.settings.partSizeBytes
        let path = multipart.statePath(key)
        do {
            let multipart = self.multipart
            let recorded = try await FileIO.offload { multipart.load(path) }
            let state: S3Multipart.State
            if let s = recorded {
                // This upload's own parts from before a restart are adopted. Any other state is
                // left alone (a commit of the key running, or another upload's parts): no pipeline.
                guard s.upload == id, s.matches(key: key, size: size, sha256: staged.sha256, partSize: partSize) else {
                    perform(inner.withLock { $0.machine.createFailed(upload: id) })
                    return
                }
                state = s
            } else {
                state = try await multipart.create(objectKey: key, size: size, sha256: staged.sha256, partSize: partSize, upload: id)
            }
            let adopted = state
            let actions = inner.withLock { s in
                s.records[id] = adopted
                return s.machine.created(upload: id, uploadID: adopted.uploadID, done: Set(adopted.parts.map(\.number)))
            }
            try await persist(id, path: path)
            perform(actions)
        } catch {
            logger.warning("could not begin shipping parts ahead of the commit", metadata: ["upload.id": "\(id)", "error": "\(error)"])
            perform(inner.withLock { $0.machine.createFailed(upload: id) })
        }
    }

    private func ship(_ id: String, key: String, uploadID: String, part: Int, offset: UInt64, length: UInt64) async {
        guard let staged = inner.withLock({ $0.staged[id] }) else {
            perform(inner.withLock { $0.machine.partFailed(upload: id, part: part, gone: false) })
            return
        }
        do {
            let fd = try await FileIO.offload { try FileIO.open(staged.dataPath, O_RDONLY) }
            defer { close(fd) }
            let sent = try await multipart.sendPart(key: key, uploadID: uploadID, number: part, fd: fd, offset: offset, length: length)
            guard let sent else {
                perform(inner.withLock { $0.machine.partFailed(upload: id, part: part, gone: true) })
                return
            }
            inner.withLock { s in
                s.records[id]?.parts.removeAll { $0.number == part }
                s.records[id]?.parts.append(sent)
            }
            // Recorded before it counts as shipped: a commit taking over finds it in the file.
            try await persist(id, path: multipart.statePath(key))
            multipart.metrics?.s3Part(shipped: "receiving")
            perform(inner.withLock { $0.machine.partShipped(upload: id, part: part) })
        } catch {
            logger.notice("a part shipped ahead of the commit failed; the commit sends it", metadata: ["upload.id": "\(id)", "part": "\(part)", "error": "\(error)"])
            perform(inner.withLock { $0.machine.partFailed(upload: id, part: part, gone: false) })
        }
    }

    private func abort(_ id: String, key: String, uploadID: String?, reason: String) async {
        let state = inner.withLock { s in
            defer {
                s.records[id] = nil
                s.staged[id] = nil
            }
            return s.records[id]
        }
        let path = multipart.statePath(key)
        if let state, state.uploadID == uploadID {
            await multipart.abort(state, reason: reason)
            logger.info("aborted the parts shipped ahead of a commit", metadata: ["upload.id": "\(id)", "lake.key": "\(key)", "reason": "\(reason)"])
        }
        // The state file is this upload's only if it names it (another upload may own the key now).
        let multipart = self.multipart
        _ = try? await FileIO.offload {
            if let s = multipart.load(path), s.upload == id { try FileIO.removeTree(path) }
        }
    }

    /// Writes what is recorded of `id` to its state file (fsync'd), under `saving`.
    private func persist(_ id: String, path: String) async throws {
        try await FileIO.offload { [self] in
            try saving.withLock { _ in
                guard let state = inner.withLock({ $0.records[id] }) else { return }
                try S3Multipart.write(state, path)
            }
        }
    }
}
