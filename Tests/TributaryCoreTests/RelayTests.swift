import Foundation
import Testing
@testable import TributaryCore
import TributaryProtocol
import TributaryTestKit

/// Relays (schema version 4): the on-behalf-of rule without I/O, and grants and provenance on
/// every catalog backend ("another node" is a second PostgreSQL client on the same database).
@Suite("Relays")
struct RelayTests {
    typealias Nodes = CatalogContractTests.Nodes
    static let t0 = "2026-11-21T10:00:00.000Z"

    func refusal(_ body: () throws -> String?) -> (status: Int, code: String)? {
        do {
            _ = try body()
            return nil
        } catch let e as CoreError {
            return (e.status.code, e.code)
        } catch {
            return (0, "\(error)")
        }
    }

    @Test func anOrdinarySiteFilesUnderItsOwnNameOnly() throws {
        #expect(try OnBehalfOf.owner(caller: "plant-a", claimed: nil, statesReceivedAt: false, grant: nil) == nil)
        #expect(try OnBehalfOf.owner(caller: "plant-a", claimed: "plant-a", statesReceivedAt: false, grant: nil) == nil)
        let other = refusal { try OnBehalfOf.owner(caller: "plant-a", claimed: "plant-b", statesReceivedAt: false, grant: nil) }
        #expect(other?.status == 403 && other?.code == "not_a_relay")
        let stamped = refusal { try OnBehalfOf.owner(caller: "plant-a", claimed: nil, statesReceivedAt: true, grant: nil) }
        #expect(stamped?.status == 403 && stamped?.code == "not_a_relay")
    }

    @Test func aRelayFilesForThePermittedSitesOnly() throws {
        let any = RelayGrant(site: "core-eu", sites: [], createdAt: Self.t0)
        #expect(any.sites == ["*"])
        #expect(try OnBehalfOf.owner(caller: "core-eu", claimed: "plant-z", statesReceivedAt: true, grant: any) == "plant-z")
        let some = RelayGrant(site: "core-eu", sites: try RelayGrant.parseSites("plant-*, depot"), createdAt: Self.t0)
        #expect(some.sites == ["plant-*", "depot"])
        #expect(try OnBehalfOf.owner(caller: "core-eu", claimed: "plant-7", statesReceivedAt: false, grant: some) == "plant-7")
        #expect(try OnBehalfOf.owner(caller: "core-eu", claimed: "depot", statesReceivedAt: false, grant: some) == "depot")
        #expect(try OnBehalfOf.owner(caller: "core-eu", claimed: "core-eu", statesReceivedAt: true, grant: some) == nil)
        let refused = refusal { try OnBehalfOf.owner(caller: "core-eu", claimed: "depot-2", statesReceivedAt: false, grant: some) }
        #expect(refused?.status == 403 && refused?.code == "relay_not_permitted")
        #expect(throws: TributaryError.self) { try RelayGrant.parseSites("plant a*") }
        #expect(throws: TributaryError.self) { try RelayGrant.parseSites("../x") }
    }

    @Test("a relay grant is recorded, replaced and seen by every node; provenance survives the catalog", arguments: CatalogKind.available)
    func grantsAndProvenance(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        try await n.first.addSite("core-eu", tokenSHA256: CatalogContractTests.sha("r"), createdAt: Self.t0)
        #expect(try await n.second.relay(site: "core-eu") == nil)
        try await n.first.setRelay(RelayGrant(site: "core-eu", sites: ["plant-*"], createdAt: Self.t0))
        #expect(try await n.second.relay(site: "core-eu")?.sites == ["plant-*"])
        try await n.second.setRelay(RelayGrant(site: "core-eu", sites: ["plant-*", "depot"], createdAt: Self.t0))
        #expect(try await n.first.relay(site: "core-eu")?.sites == ["plant-*", "depot"])
        await #expect(throws: UnknownSiteError.self) {
            try await n.first.setRelay(RelayGrant(site: "nobody", sites: ["*"], createdAt: Self.t0))
        }

        var record = CatalogContractTests.record(upload: String(repeating: "a", count: 32), shas: ["x", "y"], keyPrefix: "k")
        record.relay = "core-eu"
        for i in record.arrivals.indices { record.arrivals[i].relay = "core-eu" }
        let outcome = try await n.first.commit(record)
        #expect(outcome.receipt.relay == "core-eu" && outcome.receipt.site == "plant-a")
        let stored = try #require(try await n.second.pendingManifests().first { $0.uploadID == record.uploadID })
        #expect(stored.arrivals.map(\.relay) == ["core-eu", "core-eu"])
        #expect(stored.arrivals.map(\.site) == ["plant-a", "plant-a"])
        // A site's own upload has no relay, and its receipt JSON no `relay` key.
        let own = CatalogContractTests.record(upload: String(repeating: "b", count: 32), shas: ["z"], keyPrefix: "k")
        let ownOutcome = try await n.first.commit(own)
        #expect(!String(decoding: ownOutcome.receiptJSON, as: UTF8.self).contains("relay"))
        #expect(try await n.second.pendingManifests().first { $0.uploadID == own.uploadID }?.arrivals.first?.relay == nil)
    }
}
