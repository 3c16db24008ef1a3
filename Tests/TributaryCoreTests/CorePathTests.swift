import Testing
import TributaryProtocol
@testable import TributaryCore

/// Loop prevention's rule and its input checks (Forward/CorePath.swift).
struct CorePathTests {
    func code(_ body: () throws -> Any?) -> String? {
        do {
            _ = try body()
            return nil
        } catch let e as TributaryError {
            return e.code.rawValue
        } catch {
            return "\(error)"
        }
    }

    @Test func originAndPathAreValidatedWithExplicitLimits() throws {
        #expect(try CorePath.parse(origin: nil, path: nil) == nil)
        let ok = try #require(try CorePath.parse(origin: "core-a", path: "core-a,core-b"))
        #expect(ok.origin == "core-a" && ok.path == ["core-a", "core-b"])
        #expect(code { try CorePath.parse(origin: "core-a", path: nil) } == "invalid_metadata")
        #expect(code { try CorePath.parse(origin: nil, path: "core-a") } == "invalid_metadata")
        #expect(code { try CorePath.parse(origin: "core-a", path: "core-b,core-a") } == "invalid_metadata")  // origin first
        #expect(code { try CorePath.parse(origin: "core-a", path: "core-a,core-b,core-a") } == "invalid_metadata")  // a loop already
        #expect(code { try CorePath.parse(origin: "core-a", path: "core-a,,core-b") } == "invalid_metadata")
        #expect(code { try CorePath.parse(origin: "../x", path: "../x") } == "invalid_metadata")
        #expect(code { try CorePath.parse(origin: "a b", path: "a b") } == "invalid_metadata")
        let long = String(repeating: "c", count: CorePath.maxIDBytes + 1)
        #expect(code { try CorePath.parse(origin: long, path: long) } == "invalid_metadata")
        let sixteen = (1...CorePath.maxHops).map { "c\($0)" }
        #expect(try CorePath.parse(origin: "c1", path: sixteen.joined(separator: ","))?.path.count == CorePath.maxHops)
        #expect(code { try CorePath.parse(origin: "c1", path: (sixteen + ["c17"]).joined(separator: ",")) } == "invalid_metadata")
        // A path far beyond the limit is refused by its count, before any id is looked at.
        #expect(code { try CorePath.parse(origin: "c1", path: String(repeating: "x,", count: 100_000)) } == "invalid_metadata")
    }

    @Test func aForwardingCoreAppendsItselfAndNeverSendsBack() {
        let own = ForwardPlannerTests.item(1)
        #expect(CorePath.forwarded(own, by: "core-a") == ("core-a", ["core-a"]))
        let fromA = ForwardPlannerTests.item(2, origin: "core-a", path: ["core-a"])
        let hops = CorePath.forwarded(fromA, by: "core-b")
        #expect(hops.origin == "core-a" && hops.path == ["core-a", "core-b"])
        #expect(CorePath.mustNotSend(fromA, to: "core-a"))
        #expect(!CorePath.mustNotSend(fromA, to: "core-c"))
        let viaB = ForwardPlannerTests.item(3, origin: "core-a", path: ["core-a", "core-b"])
        #expect(CorePath.mustNotSend(viaB, to: "core-b") && CorePath.mustNotSend(viaB, to: "core-a"))
        #expect(CorePath.holds(["core-a", "core-b"], origin: "core-a", core: "core-b"))
        #expect(!CorePath.holds(["core-a"], origin: "core-a", core: "core-c"))
        #expect(!CorePath.holds(["core-a"], origin: "core-a", core: ""))
    }

    @Test func onlyARelayMayStateAPath() throws {
        #expect(throws: DomainError.self) {
            try OnBehalfOf.owner(caller: "plant-a", claimed: nil, statesReceivedAt: false, statesPath: true, grant: nil)
        }
        let grant = RelayGrant(site: "core-a", sites: ["*"], createdAt: "2026-11-21T10:00:00.000Z")
        #expect(try OnBehalfOf.owner(caller: "core-a", claimed: "plant-a", statesReceivedAt: true, statesPath: true, grant: grant) == "plant-a")
    }
}
