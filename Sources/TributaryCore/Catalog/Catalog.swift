#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

// The catalog (docs/LAKE.md, "Catalog") records sites, the content each site holds, every
// arrival, and every committed upload with its receipt. Its tables are written once per dialect
// (SQLiteCatalog+Schema.swift, PostgresCatalog+Schema.swift); each record is read from a row in
// one place (CatalogRecord+Row.swift).
//
// The protocol below is the backends' storage verbs; the rules that decide what to store live
// once, in Swift, above them: dedup resolution (`CommitRecord.resolve`), a commit's tally
// (`SiteTally`), the drop rule (`DropCounter.after`), the history point and retention of a
// heartbeat (`HeartbeatRecord`), the repair order of pending manifests
// (`PendingManifest.inRepairOrder`), credential expiry (`SiteCredential.isValid`).
// Relays and provenance (`site_relays`, `arrivals.relay`): Catalog/RelayGrant.swift.
//
// Invariants:
// - An upload is committed iff its `uploads` row exists; that row, its arrivals and any new
//   `objects` rows are written in one transaction.
// - `objects(site, sha256)` is unique: the dedup rule is enforced by the key, not by a
//   check-then-insert, so concurrent commits store a content once.
// - `manifested = 0` marks an upload whose arrival manifests may be missing from the lake.
// - A commit's per-site counters (site_state, site_lag) are updated in the commit's transaction.

/// One registered site.
public struct SiteRecord: Sendable, Equatable, Codable {
    public var site: String
    public var createdAt: String

    enum CodingKeys: String, CodingKey {
        case site
        case createdAt = "created_at"
    }
}

/// One arrival as recorded in the catalog and the arrival manifests.
public struct ArrivalRecord: Sendable, Equatable, Codable {
    public var uploadID: String
    public var seq: Int
    public var site: String
    public var stream: String
    public var name: String
    public var sha256: String
    public var size: UInt64
    public var capturedAt: String
    public var receivedAt: String
    public var key: String
    public var status: CommitReceipt.Status
    /// The relay that submitted this arrival on behalf of `site` (Catalog/RelayGrant.swift).
    public var relay: String? = nil
    /// The core the arrival entered at and the cores it passed before this one, when it was
    /// forwarded here (Forward/CorePath.swift). Stored with the upload (`uploads.origin/path`),
    /// written on each manifest line.
    public var origin: String? = nil
    public var path: [String]? = nil

    enum CodingKeys: String, CodingKey {
        case seq, site, stream, name, sha256, size, key, status, relay, origin, path
        case uploadID = "upload_id"
        case capturedAt = "captured_at"
        case receivedAt = "received_at"
    }
}

/// What the committer asks the catalog to record in one transaction.
public struct CommitRecord: Sendable {
    public var uploadID: String
    public var site: String
    public var kind: UploadKind
    public var committedAt: String
    /// The upload's length in bytes (HEAD on a committed upload reports it).
    public var length: UInt64
    /// In manifest order. `status` is the committer's view; the catalog may turn a `stored`
    /// into `duplicate` if a concurrent commit stored the same content first.
    public var arrivals: [ArrivalRecord]
    /// The relay that submitted the upload on behalf of `site`; nil for a site's own upload.
    public var relay: String? = nil
    /// The core the arrivals entered the system at and the cores they passed before this one
    /// (a forwarded upload; Forward/CorePath.swift).
    public var origin: String? = nil
    public var path: [String] = []
}

/// The result of `Catalog.commit`.
public struct CommitOutcome: Sendable {
    public var receipt: CommitReceipt
    /// The exact JSON served for this upload.
    public var receiptJSON: [UInt8]
    /// Keys this commit placed in the lake that lost a dedup race and must be removed.
    public var orphanedKeys: [String]
}

public struct StoredObject: Sendable, Equatable {
    public var key: String
    public var size: UInt64
}

extension Catalog {
    /// The key where `site`'s copy of content `sha256` lies.
    public func key(site: String, sha256: String) async throws -> String? {
        try await object(site: site, sha256: sha256)?.key
    }
}

public struct StoredReceipt: Sendable {
    public var json: [UInt8]
    public var length: UInt64
}

public struct SiteExistsError: Error, Sendable {
    public var site: String
}

/// The catalog backend: SQLite embedded, PostgreSQL shared by several core nodes, an in-memory
/// twin for unit tests. Async because PostgreSQL is; backends unreachable or too slow throw
/// `TributaryError(.io)`, which the HTTP layer answers with 503 + Retry-After.
public protocol Catalog: Sendable {
    /// Registers a site, with a token credential unless `tokenSHA256` is nil.
    func addSite(_ site: String, tokenSHA256: String?, createdAt: String) async throws
    func sites() async throws -> [SiteRecord]

    // MARK: Credentials (issue 11; Catalog/SiteCredential.swift)

    /// Adds a credential to a registered site (`UnknownSiteError`, `CredentialExistsError`).
    func addCredential(_ credential: SiteCredential) async throws
    /// The credential of this kind and value, expired or not (the caller applies `isValid`).
    func credential(kind: SiteCredential.Kind, value: String) async throws -> SiteCredential?
    /// Every credential of `site`, oldest first.
    func credentials(site: String) async throws -> [SiteCredential]
    /// In one transaction: ends the site's tokens at `oldTokensExpireAt` (an earlier end is
    /// kept) and adds `tokenSHA256`. False if the site is not registered.
    func rotateToken(site: String, tokenSHA256: String, at: String, oldTokensExpireAt: String) async throws -> Bool
    /// Deletes every credential of `site` at once; how many there were, or nil if the site is not registered.
    func revokeCredentials(site: String) async throws -> Int?

    // MARK: Relays (issue 12; Catalog/RelayGrant.swift)

    /// Makes a registered site a relay, or replaces its list (`UnknownSiteError`).
    func setRelay(_ grant: RelayGrant) async throws
    /// The relay grant of `site`; nil if it is not a relay.
    func relay(site: String) async throws -> RelayGrant?

    /// The subset of `hashes` that `site` already holds.
    func held(site: String, hashes: [String]) async throws -> Set<String>
    /// Where `site`'s copy of content `sha256` lies, and its size.
    func object(site: String, sha256: String) async throws -> StoredObject?

    /// Records a committed upload atomically. If the upload is already committed, returns the
    /// existing receipt unchanged.
    func commit(_ record: CommitRecord) async throws -> CommitOutcome
    /// The stored receipt JSON of a committed upload, and the upload's length in bytes.
    func receipt(uploadID: String) async throws -> StoredReceipt?

    /// Uploads whose arrival manifests may be missing, with their arrivals, in any order
    /// (`unmanifested()` puts them in repair order).
    func pendingManifests() async throws -> [PendingManifest]
    func markManifested(uploadID: String) async throws

    func check() async throws

    // MARK: Per-site state (issue 5; Fleet/SiteState.swift)

    /// In one transaction: stores the site's last report and last seen, the drop counter `drops`
    /// computes from the stored one (nil when the site never reported), and the backlog point
    /// `beat.historyAt`, and deletes the site's points before `beat.historyKeepFrom`.
    func storeHeartbeat(_ beat: HeartbeatRecord, drops: @escaping @Sendable (DropCounter?) -> DropCounter) async throws
    /// Counts `count` refused requests under `reason` (an error code); also counts as seen.
    func recordRejection(site: String, reason: String, count: Int, at: String) async throws
    /// Every registered site with its state, by site id.
    func siteStates() async throws -> [SiteState]
    /// One site's state; nil if the site is not registered.
    func siteState(_ site: String) async throws -> SiteState?
    /// Backlog points at or after `since`, oldest first, by site (one site, or all when nil).
    func backlogHistory(site: String?, since: String) async throws -> [String: [BacklogPoint]]

    // MARK: Forwarding (issue 12; Catalog/ForwardCursor.swift)

    /// Where forwarding to `target` stands (position 0 if it never started).
    func forwardCursor(target: String) async throws -> ForwardCursor
    /// Up to `limit` committed uploads after `position` in commit order, with their arrivals.
    func forwardItems(after position: Int64, limit: Int) async throws -> [ForwardItem]
    /// What is committed after `position`.
    func forwardBacklog(after position: Int64) async throws -> ForwardBacklog
    /// Moves `target`'s cursor to `position` (never back) at `at`: a success, or — with
    /// `setAside` — an upload given up on, recorded with its reason and counted.
    func advanceForward(target: String, to position: Int64, at: String, setAside: ForwardSetAside?) async throws
}

extension Catalog {
    /// The site a token names if that token works at `now`.
    public func site(forTokenSHA256 hash: String, at now: Date = Date()) async throws -> String? {
        guard let c = try await credential(kind: .token, value: hash), c.isValid(at: now) else { return nil }
        return c.site
    }

    /// Whether `site` holds a credential that works at `now` (none after a revocation).
    public func hasWorkingCredential(site: String, at now: Date) async throws -> Bool {
        try await credentials(site: site).contains { $0.isValid(at: now) }
    }

    /// Records a heartbeat under the drop rule (`DropCounter.after`).
    public func recordHeartbeat(_ beat: HeartbeatRecord) async throws {
        try await storeHeartbeat(beat) { DropCounter.after($0, reported: beat.report.droppedObjects, at: beat.receivedAt) }
    }

    /// Committed uploads whose manifests may be missing, in repair order.
    public func unmanifested() async throws -> [PendingManifest] {
        PendingManifest.inRepairOrder(try await pendingManifests())
    }

    /// Counts one refused upload under `reason`.
    public func recordRejection(site: String, reason: String, at: String) async throws {
        try await recordRejection(site: site, reason: reason, count: 1, at: at)
    }
}
