import Synchronization
import TributaryProtocol

/// The in-memory twin of the catalog, with the same dedup and idempotency rules, for unit tests.
public final class MemoryCatalog: Catalog {
    struct State {
        var sites: [String: (token: String, createdAt: String)] = [:]
        var objects: [String: StoredObject] = [:]  // "site/sha"
        var uploads: [String: (receipt: [UInt8], manifested: Bool, committedAt: String, length: UInt64)] = [:]
        var arrivals: [String: [ArrivalRecord]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func addSite(_ site: String, tokenSHA256: String, createdAt: String) async throws {
        try state.withLock { s in
            guard s.sites[site] == nil, !s.sites.values.contains(where: { $0.token == tokenSHA256 }) else {
                throw SiteExistsError(site: site)
            }
            s.sites[site] = (tokenSHA256, createdAt)
        }
    }

    public func sites() async throws -> [SiteRecord] {
        state.withLock { s in s.sites.map { SiteRecord(site: $0.key, createdAt: $0.value.createdAt) }.sorted { $0.site < $1.site } }
    }

    public func site(forTokenSHA256 hash: String) async throws -> String? {
        state.withLock { s in s.sites.first(where: { $0.value.token == hash })?.key }
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
                return CommitOutcome(receipt: try JSON.decode(CommitReceipt.self, existing.receipt), receiptJSON: existing.receipt, orphanedKeys: [])
            }
            let snapshot = s.objects
            let resolved = try record.resolve { snapshot[record.site + "/" + $0]?.key }
            for o in resolved.newObjects { s.objects[o.site + "/" + o.sha256] = StoredObject(key: o.key, size: o.size) }
            let receipt = record.receipt(for: resolved.arrivals)
            let json = try JSON.encode(receipt)
            s.uploads[record.uploadID] = (json, false, record.committedAt, record.length)
            s.arrivals[record.uploadID] = resolved.arrivals
            return CommitOutcome(receipt: receipt, receiptJSON: json, orphanedKeys: resolved.orphans)
        }
    }

    public func receipt(uploadID: String) async throws -> StoredReceipt? {
        state.withLock { s in s.uploads[uploadID].map { StoredReceipt(json: $0.receipt, length: $0.length) } }
    }

    public func unmanifested() async throws -> [(uploadID: String, committedAt: String, arrivals: [ArrivalRecord])] {
        state.withLock { s in
            s.uploads.filter { !$0.value.manifested }.map { ($0.key, $0.value.committedAt, s.arrivals[$0.key] ?? []) }
        }
    }

    public func markManifested(uploadID: String) async throws {
        state.withLock { $0.uploads[uploadID]?.manifested = true }
    }

    public func check() async throws {}
}
