import Foundation
import Logging
import Testing
import TributaryCore
import TributaryProtocol
import TributaryTestKit

/// The catalog backends every committer test body runs against: memory and SQLite always,
/// PostgreSQL when `TRIBUTARY_TEST_POSTGRES_URL` names a server (scripts/test.sh starts one).
enum CatalogKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case memory
    case sqlite
    case postgres

    var description: String { rawValue }

    static var available: [CatalogKind] { TestPostgres.url == nil ? [.memory, .sqlite] : allCases }
}

/// A committer over a `MemoryLake`, a catalog of the given kind and a real `StagingArea` in a
/// temporary directory. Uploads are staged by hand, as the HTTP layer would leave them.
struct CommitterHarness {
    let dir: TemporaryDirectory
    let lake = MemoryLake()
    let catalog: any Catalog
    let staging: StagingArea
    var committer: Committer
    /// Keeps a PostgreSQL catalog's pool running while the harness lives.
    let running: TestPostgres.Running?

    /// 2026-11-21T10:00:00Z, the commit time unless a test says otherwise.
    static let now = Date(timeIntervalSince1970: 1_795_255_200)

    init(_ kind: CatalogKind, maxDecodedBytes: UInt64 = 1 << 30) async throws {
        dir = try TemporaryDirectory(prefix: "tributary-committer")
        switch kind {
        case .memory:
            catalog = MemoryCatalog()
            running = nil
        case .sqlite:
            catalog = try SQLiteCatalog(path: dir.path("catalog.sqlite"))
            running = nil
        case .postgres:
            let r = try await TestPostgres.freshCatalog()
            catalog = r.catalog
            running = r
        }
        staging = try StagingArea(root: dir.path("staging"))
        committer = Committer(
            lake: lake, catalog: catalog, staging: staging, template: .default, maxDecodedBytes: maxDecodedBytes,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    static func newID() -> String { Hex.encode(secureRandomBytes(16)) }

    /// Stages an upload: validates `metadata` as a creation request would, creates the staging
    /// directory and writes `body` as its data.
    @discardableResult
    func stage(_ metadata: [String: String], body: [UInt8], site: String = "plant-a", id: String = newID()) throws -> UploadInfo {
        let m = UploadMetadata(metadata)
        let info = try UploadInfo.fromMetadata(
            m, header: m.headerValue, id: id, site: site, length: UInt64(body.count), now: Self.now, expiry: .seconds(3600))
        try restage(info, body: body)
        return info
    }

    /// Stages `info` again (a retry after a crash left its bytes staged).
    func restage(_ info: UploadInfo, body: [UInt8]) throws {
        try staging.create(info)
        try Data(body).write(to: URL(fileURLWithPath: staging.dataPath(info.id)))
    }

    func stageObject(
        name: String, bytes: [UInt8], stream: String = "vibration", site: String = "plant-a",
        capturedAt: String? = "2026-11-21T10:00:00Z", declareSHA: Bool = true
    ) throws -> UploadInfo {
        var m = ["name": name, "stream": stream]
        if let capturedAt { m["captured-at"] = capturedAt }
        if declareSHA { m["sha256"] = StreamingDigest.sha256Hex(bytes) }
        return try stage(m, body: bytes, site: site)
    }

    func stageSegment(_ items: [SegmentItem], site: String = "plant-a") throws -> UploadInfo {
        let body = try SegmentFixtures.segment(items)
        return try stage(["kind": "segment", "sha256": StreamingDigest.sha256Hex(body)], body: body, site: site)
    }

    func commit(_ info: UploadInfo, now: Date = now) async throws -> CommitOutcome {
        try await committer.commit(info, now: now)
    }

    /// Lake keys holding object data (everything outside `_tributary/`).
    var objectKeys: [String] { lake.keys.filter { !$0.hasPrefix("_tributary/") } }
    /// Arrival manifest keys.
    var manifestKeys: [String] { lake.keys.filter { $0.hasPrefix("_tributary/arrivals/") } }

    func arrivals(at key: String) throws -> [ArrivalRecord] {
        let bytes = try #require(lake.bytes(at: key))
        return try bytes.split(separator: 0x0a).map { try JSONDecoder().decode(ArrivalRecord.self, from: Data($0)) }
    }

    /// Whether staging still holds the upload.
    func isStaged(_ id: String) -> Bool { FileManager.default.fileExists(atPath: staging.directory(id)) }
}

/// The key `PartitionTemplate.default` gives an object captured on 2026-11-21.
func expectedKey(stream: String = "vibration", site: String = "plant-a", date: String = "2026-11-21", name: String, bytes: [UInt8]) -> String {
    "stream=\(stream)/site=\(site)/date=\(date)/" + Names.lakeName(name, tag: String(StreamingDigest.sha256Hex(bytes).prefix(16)))
}
