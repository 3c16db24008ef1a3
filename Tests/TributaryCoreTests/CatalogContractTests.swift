import Foundation
import Testing
@testable import TributaryCore
import TributaryProtocol

/// The catalog contract, one body per rule, run against every backend (memory, SQLite, and
/// PostgreSQL when a test server is configured). "Another node" is a second catalog instance on
/// the same database for PostgreSQL, the same instance for the embedded backends.
@Suite("Catalog contract")
struct CatalogContractTests {
    struct Nodes {
        let first: any Catalog
        let second: any Catalog
        let keep: [TestPostgres.Running]
        let harness: CommitterHarness

        init(_ kind: CatalogKind) async throws {
            harness = try await CommitterHarness(kind)
            first = harness.catalog
            if kind == .postgres, let pg = harness.catalog as? PostgresCatalog, let url = TestPostgres.url {
                let other = TestPostgres.Running(
                    catalog: PostgresCatalog(url: url, maxConnections: 4, searchPath: pg.searchPath, logger: TestPostgres.logger))
                second = other.catalog
                keep = [other]
            } else {
                second = harness.catalog
                keep = []
            }
        }
    }

    static func record(upload: String, site: String = "plant-a", shas: [String], keyPrefix: String) -> CommitRecord {
        let arrivals = shas.enumerated().map { i, sha in
            ArrivalRecord(
                uploadID: upload, seq: i, site: site, stream: "vibration", name: "o\(i).csv", sha256: sha, size: 10,
                capturedAt: "2026-11-21T10:00:00.000Z", receivedAt: "2026-11-21T10:00:01.000Z", key: "\(keyPrefix)/o\(i).csv", status: .stored)
        }
        return CommitRecord(
            uploadID: upload, site: site, kind: .segment, committedAt: "2026-11-21T10:00:01.000Z", length: 10, arrivals: arrivals)
    }

    static func sha(_ s: String) -> String { StreamingDigest.sha256Hex(Array(s.utf8)) }

    @Test("sites: add, list, find by token; a taken name or token is refused", arguments: CatalogKind.available)
    func sites(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        try await n.first.addSite("plant-b", tokenSHA256: Self.sha("tb"), createdAt: "2026-11-21T10:00:00.000Z")
        try await n.second.addSite("plant-a", tokenSHA256: Self.sha("ta"), createdAt: "2026-11-21T10:00:01.000Z")
        #expect(try await n.first.sites().map(\.site) == ["plant-a", "plant-b"])
        #expect(try await n.second.site(forTokenSHA256: Self.sha("tb")) == "plant-b")
        #expect(try await n.first.site(forTokenSHA256: Self.sha("nope")) == nil)
        await #expect(throws: SiteExistsError.self) {
            try await n.second.addSite("plant-b", tokenSHA256: Self.sha("other"), createdAt: "2026-11-21T10:00:00.000Z")
        }
        await #expect(throws: SiteExistsError.self) {
            try await n.first.addSite("plant-c", tokenSHA256: Self.sha("ta"), createdAt: "2026-11-21T10:00:00.000Z")
        }
    }

    @Test("a commit is recorded once; committing the same upload again returns the first receipt", arguments: CatalogKind.available)
    func idempotent(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        let id = String(repeating: "c", count: 32)
        let first = try await n.first.commit(Self.record(upload: id, shas: [Self.sha("x"), Self.sha("y")], keyPrefix: "k1"))
        let again = try await n.second.commit(Self.record(upload: id, shas: [Self.sha("x")], keyPrefix: "k2"))
        #expect(again.receiptJSON == first.receiptJSON)
        #expect(again.orphanedKeys.isEmpty)
        #expect(try await n.second.receipt(uploadID: id)?.json == first.receiptJSON)
        #expect(try await n.first.receipt(uploadID: String(repeating: "d", count: 32)) == nil)
        #expect(try await n.first.held(site: "plant-a", hashes: [Self.sha("x"), Self.sha("y"), Self.sha("z")]) == [Self.sha("x"), Self.sha("y")])
        #expect(try await n.first.held(site: "plant-b", hashes: [Self.sha("x")]).isEmpty, "dedup is per site")
        #expect(try await n.first.held(site: "plant-a", hashes: []).isEmpty)
    }

    @Test("manifest bookkeeping: committed uploads are unmanifested until marked", arguments: CatalogKind.available)
    func manifested(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        let id = String(repeating: "e", count: 32)
        _ = try await n.first.commit(Self.record(upload: id, shas: [Self.sha("x"), Self.sha("x")], keyPrefix: "k"))
        let pending = try await n.second.unmanifested()
        #expect(pending.map(\.uploadID) == [id])
        #expect(pending.first?.arrivals.map(\.status) == [.stored, .duplicate])
        #expect(pending.first?.arrivals.map(\.key) == ["k/o0.csv", "k/o0.csv"])
        try await n.second.markManifested(uploadID: id)
        #expect(try await n.first.unmanifested().isEmpty)
        try await n.first.check()
    }

    @Test("pending manifests come oldest commit first (ties by upload id), arrivals by seq", arguments: CatalogKind.available)
    func manifestOrder(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        // Committed in an order that is neither time nor id order.
        let commits = [("b", "2026-11-21T10:00:02.000Z"), ("c", "2026-11-21T10:00:01.000Z"), ("a", "2026-11-21T10:00:02.000Z"),
                       ("d", "2026-11-21T10:00:00.000Z")]
        for (i, (letter, at)) in commits.enumerated() {
            var r = Self.record(upload: String(repeating: letter, count: 32), shas: [Self.sha("m\(i)"), Self.sha("n\(i)"), Self.sha("o\(i)")], keyPrefix: "k\(i)")
            r.committedAt = at
            _ = try await (i % 2 == 0 ? n.first : n.second).commit(r)
        }
        let pending = try await n.second.unmanifested()
        #expect(pending.map { String($0.uploadID.prefix(1)) } == ["d", "c", "a", "b"])
        #expect(pending.allSatisfy { $0.arrivals.map(\.seq) == [0, 1, 2] })
        try await n.first.markManifested(uploadID: String(repeating: "c", count: 32))
        #expect(try await n.first.unmanifested().map { String($0.uploadID.prefix(1)) } == ["d", "a", "b"])
    }

    /// Issue 4: two nodes committing the same content at once store it once. Twelve commits of
    /// the same three contents, split over two nodes, all at once.
    @Test("concurrent commits of the same content store it once", arguments: CatalogKind.available)
    func concurrentDedup(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        let shas = [Self.sha("p"), Self.sha("q"), Self.sha("r")]
        let outcomes = try await withThrowingTaskGroup(of: CommitOutcome.self) { group in
            for i in 0..<12 {
                let catalog = i % 2 == 0 ? n.first : n.second
                let record = Self.record(upload: String(format: "%032x", i + 1), shas: shas, keyPrefix: "u\(i)")
                group.addTask { try await catalog.commit(record) }
            }
            var all: [CommitOutcome] = []
            for try await o in group { all.append(o) }
            return all
        }
        for (i, sha) in shas.enumerated() {
            let stored = outcomes.filter { $0.receipt.objects[i].status == .stored }
            #expect(stored.count == 1, "content \(i) stored by exactly one commit")
            let key = try #require(try await n.first.object(site: "plant-a", sha256: sha)?.key)
            #expect(stored.first?.receipt.objects[i].key == key)
            #expect(outcomes.allSatisfy { $0.receipt.objects[i].key == key }, "every receipt names the stored key")
            let orphans = outcomes.flatMap(\.orphanedKeys).filter { $0.hasSuffix("/o\(i).csv") }
            #expect(orphans.count == 11, "every losing commit is told to remove its own copy")
            #expect(!orphans.contains(key))
        }
    }
}
