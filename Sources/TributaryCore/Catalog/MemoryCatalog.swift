import Synchronization
import TributaryProtocol

/// The in-memory twin of the catalog, with the same dedup and idempotency rules, for unit tests.
public final class MemoryCatalog: Catalog {
    struct State {
        var sites: [String: (token: String, createdAt: String)] = [:]
        var objects: [String: StoredObject] = [:]  // "site/sha"
        var uploads: [String: (receipt: [UInt8], manifested: Bool, committedAt: String, length: UInt64)] = [:]
        var arrivals: [String: [ArrivalRecord]] = [:]
        var states: [String: SiteState] = [:]
        var drops: [String: DropCounter] = [:]
        var backlog: [String: [BacklogPoint]] = [:]
        var credentials: [String: SiteCredential] = [:]  // "kind/value"
        var relays: [String: RelayGrant] = [:]
        /// Committed uploads in commit order (ForwardCursor.swift).
        var committed: [ForwardItem] = []
        var cursors: [String: ForwardCursor] = [:]
        var setAside: [String: [ForwardSetAside]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func addSite(_ site: String, tokenSHA256: String?, createdAt: String) async throws {
        try state.withLock { s in
            guard s.sites[site] == nil, tokenSHA256.map({ s.credentials["token/" + $0] == nil }) ?? true else {
                throw SiteExistsError(site: site)
            }
            s.sites[site] = (tokenSHA256 ?? SiteCredential.noToken(site), createdAt)
            if let tokenSHA256 { s.credentials["token/" + tokenSHA256] = SiteCredential(site: site, kind: .token, value: tokenSHA256, createdAt: createdAt) }
        }
    }

    public func addCredential(_ c: SiteCredential) async throws {
        try state.withLock { s in
            guard s.sites[c.site] != nil else { throw UnknownSiteError(site: c.site) }
            let key = c.kind.rawValue + "/" + c.value
            guard s.credentials[key] == nil else { throw CredentialExistsError(kind: c.kind) }
            s.credentials[key] = c
        }
    }

    public func credential(kind: SiteCredential.Kind, value: String) async throws -> SiteCredential? {
        state.withLock { $0.credentials[kind.rawValue + "/" + value] }
    }

    public func credentials(site: String) async throws -> [SiteCredential] {
        state.withLock { s in
            s.credentials.values.filter { $0.site == site }.sorted { ($0.createdAt, $0.kind.rawValue) < ($1.createdAt, $1.kind.rawValue) }
        }
    }

    public func rotateToken(site: String, tokenSHA256: String, at: String, oldTokensExpireAt: String) async throws -> Bool {
        try state.withLock { s in
            guard s.sites[site] != nil else { return false }
            guard s.credentials["token/" + tokenSHA256] == nil else { throw CredentialExistsError(kind: .token) }
            for (k, c) in s.credentials where c.site == site && c.kind == .token && (c.expiresAt ?? "~") > oldTokensExpireAt {
                s.credentials[k]?.expiresAt = oldTokensExpireAt
            }
            s.credentials["token/" + tokenSHA256] = SiteCredential(site: site, kind: .token, value: tokenSHA256, createdAt: at)
            return true
        }
    }

    public func revokeCredentials(site: String) async throws -> Int? {
        state.withLock { s in
            guard s.sites[site] != nil else { return nil }
            let mine = s.credentials.filter { $0.value.site == site }
            for k in mine.keys { s.credentials[k] = nil }
            return mine.count
        }
    }

    public func sites() async throws -> [SiteRecord] {
        state.withLock { s in s.sites.map { SiteRecord(site: $0.key, createdAt: $0.value.createdAt) }.sorted { $0.site < $1.site } }
    }

    public func held(site: String, hashes: [String]) async throws -> Set<String> {
        state.withLock { s in Set(hashes.filter { s.objects[site + "/" + $0] != nil }) }
    }

    public func object(site: String, sha256: String) async throws -> StoredObject? {
        state.withLock { $0.objects[site + "/" + sha256] }
    }

    public func commit(_ record: CommitRecord) async throws -> CommitOutcome {
        try state.withLock { s in
            if let existing = s.uploads[record.uploadID] {
                return try CommitOutcome(existing: StoredReceipt(json: existing.receipt, length: existing.length))
            }
            let snapshot = s.objects
            let resolved = try record.resolve { snapshot[record.site + "/" + $0]?.key }
            for o in resolved.newObjects { s.objects[o.site + "/" + o.sha256] = StoredObject(key: o.key, size: o.size) }
            let receipt = record.receipt(for: resolved.arrivals)
            let json = try JSON.encode(receipt)
            s.uploads[record.uploadID] = (json, false, record.committedAt, record.length)
            s.arrivals[record.uploadID] = resolved.arrivals
            s.committed.append(ForwardItem(
                seq: Int64(s.committed.count + 1), uploadID: record.uploadID, site: record.site, committedAt: record.committedAt,
                origin: record.origin, path: record.path, arrivals: resolved.arrivals))
            let tally = SiteTally(arrivals: resolved.arrivals)
            s.update(record.site) { st in
                st.lastSeen = max(st.lastSeen ?? "", record.committedAt)
                st.lastCommitAt = max(st.lastCommitAt ?? "", record.committedAt)
                st.counters.add(tally.counters)
                st.lag.merge(tally.lag)
            }
            return CommitOutcome(receipt: receipt, receiptJSON: json, orphanedKeys: resolved.orphans)
        }
    }

    public func receipt(uploadID: String) async throws -> StoredReceipt? {
        state.withLock { s in s.uploads[uploadID].map { StoredReceipt(json: $0.receipt, length: $0.length) } }
    }

    public func pendingManifests() async throws -> [PendingManifest] {
        state.withLock { s in
            s.uploads.filter { !$0.value.manifested }.map {
                PendingManifest(uploadID: $0.key, committedAt: $0.value.committedAt, arrivals: s.arrivals[$0.key] ?? [])
            }
        }
    }

    public func markManifested(uploadID: String) async throws {
        state.withLock { $0.uploads[uploadID]?.manifested = true }
    }

    public func check() async throws {}

    public func storeHeartbeat(_ beat: HeartbeatRecord, drops: @escaping @Sendable (DropCounter?) -> DropCounter) async throws {
        state.withLock { s in
            let counter = drops(s.drops[beat.site])
            s.drops[beat.site] = counter
            s.update(beat.site) { st in
                st.lastSeen = max(st.lastSeen ?? "", beat.receivedAt)
                st.lastReportAt = beat.receivedAt
                st.report = try? JSON.decode(SiteReport.self, Array(beat.reportJSON.utf8))
                st.dropsChangedAt = counter.changedAt
            }
            var points = s.backlog[beat.site, default: []].filter { $0.at >= beat.historyKeepFrom && $0.at != beat.historyAt }
            points.append(beat.point)
            s.backlog[beat.site] = points.sorted { $0.at < $1.at }
        }
    }

    public func recordRejection(site: String, reason: String, count: Int, at: String) async throws {
        state.withLock { s in
            s.update(site) { st in
                st.lastSeen = max(st.lastSeen ?? "", at)
                st.rejections[reason, default: 0] += Int64(count)
            }
        }
    }

    public func siteStates() async throws -> [SiteState] {
        state.withLock { s in
            s.sites.map { name, v in
                var st = s.states[name] ?? SiteState(site: name, createdAt: v.createdAt)
                st.createdAt = v.createdAt
                return st
            }.sorted { $0.site < $1.site }
        }
    }

    public func siteState(_ site: String) async throws -> SiteState? {
        try await siteStates().first { $0.site == site }
    }

    public func backlogHistory(site: String?, since: String) async throws -> [String: [BacklogPoint]] {
        state.withLock { s in
            var out: [String: [BacklogPoint]] = [:]
            for (name, points) in s.backlog where site == nil || name == site {
                let kept = points.filter { $0.at >= since }
                if !kept.isEmpty { out[name] = kept }
            }
            return out
        }
    }
}

extension MemoryCatalog.State {
    mutating func update(_ site: String, _ body: (inout SiteState) -> Void) {
        var st = states[site] ?? SiteState(site: site, createdAt: sites[site]?.createdAt ?? "")
        body(&st)
        states[site] = st
    }
}

extension SiteCounters {
    mutating func add(_ o: SiteCounters) {
        objectsReceived += o.objectsReceived
        bytesReceived += o.bytesReceived
        objectsStored += o.objectsStored
        bytesStored += o.bytesStored
        duplicates += o.duplicates
        duplicateBytes += o.duplicateBytes
    }
}

extension MemoryCatalog {
    public func setRelay(_ grant: RelayGrant) async throws {
        try state.withLock { s in
            guard s.sites[grant.site] != nil else { throw UnknownSiteError(site: grant.site) }
            s.relays[grant.site] = grant
        }
    }

    public func relay(site: String) async throws -> RelayGrant? {
        state.withLock { $0.relays[site] }
    }
}

extension MemoryCatalog {
    public func forwardCursor(target: String) async throws -> ForwardCursor {
        state.withLock { $0.cursors[target] ?? ForwardCursor(target: target) }
    }

    public func forwardItems(after position: Int64, limit: Int) async throws -> [ForwardItem] {
        state.withLock { s in Array(s.committed.filter { $0.seq > position }.prefix(limit)) }
    }

    public func forwardBacklog(after position: Int64) async throws -> ForwardBacklog {
        state.withLock { s in
            let behind = s.committed.filter { $0.seq > position }
            let arrivals = behind.flatMap(\.arrivals)
            return ForwardBacklog(
                uploads: Int64(behind.count), objects: Int64(arrivals.count), bytes: arrivals.reduce(0) { $0 + Int64($1.size) },
                oldestCommittedAt: behind.map(\.committedAt).min())
        }
    }

    public func advanceForward(target: String, to position: Int64, at: String, setAside: ForwardSetAside?) async throws {
        state.withLock { s in
            var c = s.cursors[target] ?? ForwardCursor(target: target)
            c.position = max(c.position, position)
            if let setAside {
                if !(s.setAside[target] ?? []).contains(where: { $0.seq == setAside.seq }) {
                    s.setAside[target, default: []].append(setAside)
                }
                c.setAside += 1
            } else {
                c.lastSuccessAt = at
            }
            s.cursors[target] = c
        }
    }
}
