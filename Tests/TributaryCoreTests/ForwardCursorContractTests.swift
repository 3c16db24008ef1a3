import Testing
@testable import TributaryCore

/// The forward cursor on every catalog backend (Catalog/ForwardCursor.swift).
struct ForwardCursorContractTests {
    @Test("commit order numbers uploads; the cursor moves forward only; set-asides are recorded and counted", arguments: CatalogKind.available)
    func cursor(kind: CatalogKind) async throws {
        let n = try await CatalogContractTests.Nodes(kind)
        var first = CatalogContractTests.record(upload: String(repeating: "a", count: 32), shas: ["x", "y"], keyPrefix: "k1")
        first.origin = "core-c"
        first.path = ["core-c", "core-d"]
        _ = try await n.first.commit(first)
        _ = try await n.second.commit(CatalogContractTests.record(upload: String(repeating: "b", count: 32), shas: ["z"], keyPrefix: "k2"))
        // A commit retried after a crash takes no new number.
        _ = try await n.first.commit(first)

        let items = try await n.second.forwardItems(after: 0, limit: 10)
        #expect(items.map(\.seq) == [1, 2])
        #expect(items.map(\.uploadID) == [first.uploadID, String(repeating: "b", count: 32)])
        #expect(items[0].origin == "core-c" && items[0].path == ["core-c", "core-d"])
        #expect(items[1].origin == nil && items[1].path == [])
        #expect(items[0].arrivals.map(\.sha256) == ["x", "y"])
        #expect(try await n.first.forwardItems(after: 1, limit: 10).map(\.seq) == [2])
        #expect(try await n.first.forwardItems(after: 0, limit: 1).map(\.seq) == [1])

        let t = "https://central.example"
        #expect(try await n.first.forwardCursor(target: t) == ForwardCursor(target: t))
        #expect(try await n.first.forwardBacklog(after: 0) == ForwardBacklog(uploads: 2, objects: 3, bytes: 30, oldestCommittedAt: "2026-11-21T10:00:01.000Z"))

        try await n.first.advanceForward(target: t, to: 1, at: "2026-11-21T11:00:00.000Z", setAside: nil)
        #expect(try await n.second.forwardCursor(target: t) == ForwardCursor(target: t, position: 1, lastSuccessAt: "2026-11-21T11:00:00.000Z"))
        #expect(try await n.second.forwardBacklog(after: 1) == ForwardBacklog(uploads: 1, objects: 1, bytes: 10, oldestCommittedAt: "2026-11-21T10:00:01.000Z"))
        // Never back.
        try await n.second.advanceForward(target: t, to: 0, at: "2026-11-21T11:00:01.000Z", setAside: nil)
        #expect(try await n.first.forwardCursor(target: t).position == 1)

        try await n.first.advanceForward(
            target: t, to: 2, at: "2026-11-21T11:00:02.000Z", setAside: ForwardSetAside(seq: 2, uploadID: "b", reason: "refused"))
        let c = try await n.second.forwardCursor(target: t)
        #expect(c.position == 2 && c.setAside == 1 && c.lastSuccessAt == "2026-11-21T11:00:01.000Z")
        #expect(try await n.first.forwardBacklog(after: 2) == ForwardBacklog())
        // Another target has its own cursor.
        #expect(try await n.first.forwardCursor(target: "https://dr.example").position == 0)
    }
}
