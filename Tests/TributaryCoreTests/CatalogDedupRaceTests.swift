import Testing
@testable import TributaryCore
import TributaryProtocol

/// Two commits of the same content by one site that each decided "stored" before either reached
/// the catalog (two core nodes, or two uploads racing). The catalog's `(site, sha256)` key decides:
/// the first stores, the second becomes a duplicate of it and learns which key it must remove.
@Suite("Catalog dedup race")
struct CatalogDedupRaceTests {
    static let sha = StreamingDigest.sha256Hex(Array("same bytes".utf8))

    static func record(upload: String, name: String, key: String) -> CommitRecord {
        let arrival = ArrivalRecord(
            uploadID: upload, seq: 0, site: "plant-a", stream: "vibration", name: name, sha256: sha, size: 10,
            capturedAt: "2026-11-21T10:00:00.000Z", receivedAt: "2026-11-21T10:00:01.000Z", key: key, status: .stored)
        return CommitRecord(
            uploadID: upload, site: "plant-a", kind: .object, committedAt: "2026-11-21T10:00:01.000Z", length: 10,
            arrivals: [arrival])
    }

    @Test("the loser of a race is recorded as a duplicate and told to remove its copy", arguments: CatalogKind.available)
    func race(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let first = try await h.catalog.commit(Self.record(upload: String(repeating: "a", count: 32), name: "a.csv", key: "k/a.csv"))
        let second = try await h.catalog.commit(Self.record(upload: String(repeating: "b", count: 32), name: "b.csv", key: "k/b.csv"))

        #expect(first.receipt.objects.map(\.status) == [.stored])
        #expect(first.orphanedKeys.isEmpty)
        #expect(second.receipt.objects.map(\.status) == [.duplicate])
        #expect(second.receipt.objects[0].key == "k/a.csv")
        #expect(second.orphanedKeys == ["k/b.csv"])
        #expect(try await h.catalog.object(site: "plant-a", sha256: Self.sha) == StoredObject(key: "k/a.csv", size: 10))
    }
}
