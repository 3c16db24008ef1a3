import Foundation
import Testing
import TributaryCore
import TributaryProtocol
import TributaryTestKit

/// The dedup and idempotency rules of a commit (docs/PROTOCOL.md, "Receipt" and "Have-check"),
/// run against every catalog backend.
@Suite("Committer dedup and idempotency")
struct CommitterDedupTests {
    static let content = TestBytes.compressible(10_000, seed: 41)
    static let other = TestBytes.random(3_000, seed: 42)
    static let sha = StreamingDigest.sha256Hex(content)

    @Test("an object is stored under its partition and key", arguments: CatalogKind.available)
    func objectStored(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let info = try h.stageObject(name: "dir/x y.csv", bytes: Self.content)
        let outcome = try await h.commit(info)

        let key = expectedKey(name: "dir/x y.csv", bytes: Self.content)
        #expect(key == "stream=vibration/site=plant-a/date=2026-11-21/dir/x_y.\(Self.sha.prefix(16)).csv")
        #expect(outcome.receipt.uploadID == info.id)
        #expect(outcome.receipt.site == "plant-a")
        #expect(outcome.receipt.kind == .object)
        #expect(outcome.receipt.committedAt == "2026-11-21T10:00:00.000Z")
        #expect(
            outcome.receipt.objects == [
                CommitReceipt.Object(stream: "vibration", name: "dir/x y.csv", sha256: Self.sha, size: 10_000, status: .stored, key: key)
            ])
        #expect(h.objectKeys == [key])
        #expect(h.lake.bytes(at: key) == Self.content)
        #expect(try await h.catalog.held(site: "plant-a", hashes: [Self.sha, StreamingDigest.sha256Hex(Self.other)]) == [Self.sha])
        #expect(try await h.catalog.key(site: "plant-a", sha256: Self.sha) == key)
        #expect(try await h.catalog.receipt(uploadID: info.id)?.json == outcome.receiptJSON)
        #expect(try await h.catalog.receipt(uploadID: info.id)?.length == 10_000)
        #expect(try JSONDecoder().decode(CommitReceipt.self, from: Data(outcome.receiptJSON)) == outcome.receipt)
        #expect(!h.isStaged(info.id), "staging is removed after the commit")
    }

    @Test("a zstd-encoded object is stored decoded", arguments: CatalogKind.available)
    func zstdObject(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let body = try SegmentFixtures.compress(Self.content)
        let info = try h.stage(
            ["name": "a.csv", "stream": "vibration", "encoding": "zstd", "sha256": Self.sha, "captured-at": "2026-11-21T10:00:00Z"], body: body)
        let outcome = try await h.commit(info)
        #expect(outcome.receipt.objects.first?.size == UInt64(Self.content.count))
        #expect(h.lake.bytes(at: expectedKey(name: "a.csv", bytes: Self.content)) == Self.content)
    }

    /// 1 MiB is a multiple of the zstd decoder's 128 KiB output buffer.
    @Test("a zstd object of exactly 1 MiB is stored", arguments: CatalogKind.available)
    func zstdObjectOneMiB(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let content = TestBytes.compressible(1 << 20, seed: 43)
        let info = try h.stage(["name": "m.csv", "stream": "vibration", "encoding": "zstd"], body: try SegmentFixtures.compress(content))
        let outcome = try await h.commit(info)
        #expect(outcome.receipt.objects.first?.size == 1 << 20)
    }

    @Test("without captured-at the date is the commit day (UTC)", arguments: CatalogKind.available)
    func receiveDate(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let info = try h.stageObject(name: "a.csv", bytes: Self.content, capturedAt: nil)
        let outcome = try await h.commit(info, now: Date(timeIntervalSince1970: 1_795_255_200 + 86_400 * 3))
        #expect(outcome.receipt.objects.first?.key == expectedKey(date: "2026-11-24", name: "a.csv", bytes: Self.content))
    }

    @Test("captured-at with an offset files the object under its UTC day", arguments: CatalogKind.available)
    func capturedAtOffset(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let info = try h.stageObject(name: "a.csv", bytes: Self.content, capturedAt: "2026-11-21T23:30:00-02:00")
        let outcome = try await h.commit(info)
        #expect(outcome.receipt.objects.first?.key == expectedKey(date: "2026-11-22", name: "a.csv", bytes: Self.content))
    }

    @Test("the same content again from the same site is a duplicate pointing at the first key", arguments: CatalogKind.available)
    func sameSiteDuplicate(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let first = try await h.commit(try h.stageObject(name: "a.csv", bytes: Self.content))
        let key = try #require(first.receipt.objects.first?.key)
        let keysBefore = h.objectKeys

        // Same name, same content.
        let again = try await h.commit(try h.stageObject(name: "a.csv", bytes: Self.content))
        #expect(again.receipt.objects.map(\.status) == [.duplicate])
        #expect(again.receipt.objects.map(\.key) == [key])

        // Another name, another stream, another day: still the same content for this site.
        let renamed = try await h.commit(
            try h.stageObject(name: "b/other.csv", bytes: Self.content, stream: "temperature", capturedAt: "2026-12-01T00:00:00Z"))
        #expect(renamed.receipt.objects.map(\.status) == [.duplicate])
        #expect(renamed.receipt.objects.map(\.key) == [key])
        #expect(renamed.receipt.objects.first?.name == "b/other.csv", "the receipt keeps the name that was sent")

        #expect(h.objectKeys == keysBefore, "no new object key in the lake")
        #expect(h.lake.bytes(at: key) == Self.content)
    }

    @Test("the same content from another site is stored under that site's partition", arguments: CatalogKind.available)
    func otherSiteStored(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let a = try await h.commit(try h.stageObject(name: "a.csv", bytes: Self.content, site: "plant-a"))
        let b = try await h.commit(try h.stageObject(name: "a.csv", bytes: Self.content, site: "plant-b"))
        #expect(a.receipt.objects.map(\.status) == [.stored])
        #expect(b.receipt.objects.map(\.status) == [.stored])
        let keyB = expectedKey(site: "plant-b", name: "a.csv", bytes: Self.content)
        #expect(b.receipt.objects.map(\.key) == [keyB])
        #expect(h.objectKeys == [expectedKey(site: "plant-a", name: "a.csv", bytes: Self.content), keyB].sorted())
        #expect(h.lake.bytes(at: keyB) == Self.content)
        #expect(try await h.catalog.key(site: "plant-b", sha256: Self.sha) == keyB)
    }

    @Test("a segment with two entries of identical content stores it once", arguments: CatalogKind.available)
    func segmentInternalDuplicate(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let info = try h.stageSegment([
            SegmentItem(name: "first.csv", bytes: Self.content, capturedAt: "2026-11-21T10:00:00Z"),
            SegmentItem(name: "other.bin", bytes: Self.other, capturedAt: "2026-11-21T10:00:00Z"),
            SegmentItem(name: "second.csv", bytes: Self.content, capturedAt: "2026-11-21T10:00:00Z"),
        ])
        let outcome = try await h.commit(info)
        let firstKey = expectedKey(name: "first.csv", bytes: Self.content)
        #expect(outcome.receipt.kind == .segment)
        #expect(outcome.receipt.objects.map(\.name) == ["first.csv", "other.bin", "second.csv"], "manifest order")
        #expect(outcome.receipt.objects.map(\.status) == [.stored, .stored, .duplicate])
        #expect(outcome.receipt.objects[2].key == firstKey)
        #expect(h.objectKeys == [firstKey, expectedKey(name: "other.bin", bytes: Self.other)].sorted())
        #expect(h.lake.bytes(at: firstKey) == Self.content)
    }

    @Test("a ref entry to content the site holds is a duplicate", arguments: CatalogKind.available)
    func refToHeld(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let first = try await h.commit(try h.stageObject(name: "a.csv", bytes: Self.content))
        let keysBefore = h.objectKeys
        let info = try h.stageSegment([
            SegmentItem(name: "again.csv", bytes: Self.content, capturedAt: "2026-11-21T11:00:00Z", ref: true),
            SegmentItem(name: "new.bin", bytes: Self.other, capturedAt: "2026-11-21T11:00:00Z"),
        ])
        let outcome = try await h.commit(info)
        #expect(outcome.receipt.objects.map(\.status) == [.duplicate, .stored])
        #expect(outcome.receipt.objects[0].key == first.receipt.objects[0].key)
        #expect(outcome.receipt.objects[0].size == UInt64(Self.content.count))
        #expect(h.objectKeys == (keysBefore + [expectedKey(name: "new.bin", bytes: Self.other)]).sorted())
    }

    @Test("a ref whose declared size differs from the held content is refused", arguments: CatalogKind.available)
    func refWithWrongSize(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        _ = try await h.commit(try h.stageObject(name: "a.csv", bytes: Self.content))
        let keysBefore = h.objectKeys
        let lying = ManifestEntry(
            stream: "vibration", name: "again.csv", size: UInt64(Self.content.count) + 7,
            sha256: StreamingDigest.sha256Hex(Self.content), capturedAt: "2026-11-21T11:00:00Z", ref: true)
        let info = try h.stageSegment([
            SegmentItem(name: "new.bin", bytes: Self.other, capturedAt: "2026-11-21T11:00:00Z"),
            SegmentItem(entry: lying, bytes: []),
        ])
        let error = await #expect(throws: TributaryError.self) { _ = try await h.commit(info) }
        #expect(error?.code == .manifestMismatch)
        #expect(h.objectKeys == keysBefore, "nothing of the rejected segment reached the lake")
        #expect(try await h.catalog.receipt(uploadID: info.id) == nil)
    }

    @Test("a ref to unknown content is refused and leaves nothing behind", arguments: CatalogKind.available)
    func refToUnknown(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let info = try h.stageSegment([
            SegmentItem(name: "new.bin", bytes: Self.other, capturedAt: "2026-11-21T11:00:00Z"),
            SegmentItem(name: "ghost.csv", bytes: Self.content, capturedAt: "2026-11-21T11:00:00Z", ref: true),
        ])
        let error = await #expect(throws: TributaryError.self) { _ = try await h.commit(info) }
        #expect(error?.code == .unknownReference)
        #expect(h.lake.keys.isEmpty, "no object and no manifest reached the lake")
        #expect(try await h.catalog.receipt(uploadID: info.id) == nil)
        #expect(try await h.catalog.held(site: "plant-a", hashes: [StreamingDigest.sha256Hex(Self.other)]).isEmpty)
    }

    @Test("a ref to content only another site holds is refused (dedup scope is the site)", arguments: CatalogKind.available)
    func refToOtherSitesContent(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        _ = try await h.commit(try h.stageObject(name: "a.csv", bytes: Self.content, site: "plant-b"))
        let keysBefore = h.lake.keys
        let info = try h.stageSegment([SegmentItem(name: "a.csv", bytes: Self.content, ref: true)], site: "plant-a")
        let error = await #expect(throws: TributaryError.self) { _ = try await h.commit(info) }
        #expect(error?.code == .unknownReference)
        #expect(h.lake.keys == keysBefore)
        #expect(try await h.catalog.receipt(uploadID: info.id) == nil)
    }

    @Test("committing the same upload twice returns the identical receipt JSON", arguments: CatalogKind.available)
    func idempotentCommit(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let items = [
            SegmentItem(name: "a.csv", bytes: Self.content, capturedAt: "2026-11-21T10:00:00Z"),
            SegmentItem(name: "b.bin", bytes: Self.other, capturedAt: "2026-11-21T10:00:00Z"),
        ]
        let body = try SegmentFixtures.segment(items)
        let info = try h.stage(["kind": "segment"], body: body)
        let first = try await h.commit(info)
        let lakeAfterFirst = h.lake.keys

        // Straight again (staging already removed), an hour later.
        let second = try await h.commit(info, now: CommitterHarness.now.addingTimeInterval(3600))
        #expect(second.receiptJSON == first.receiptJSON)
        #expect(second.receipt == first.receipt)

        // Again after a crash left the bytes staged: nothing is stored twice.
        try h.restage(info, body: body)
        let third = try await h.commit(info, now: CommitterHarness.now.addingTimeInterval(7200))
        #expect(third.receiptJSON == first.receiptJSON)
        #expect(third.receipt.objects.map(\.status) == [.stored, .stored], "still the first commit's answer, not duplicates")
        #expect(h.lake.keys == lakeAfterFirst)
        #expect(try await h.catalog.receipt(uploadID: info.id)?.json == first.receiptJSON)
        #expect(!h.isStaged(info.id))
    }

    @Test("arrival manifests are written per partition under _tributary/arrivals", arguments: CatalogKind.available)
    func arrivalManifests(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        _ = try await h.commit(try h.stageObject(name: "held.csv", bytes: Self.other))
        let info = try h.stageSegment([
            SegmentItem(stream: "vibration", name: "a.csv", bytes: Self.content, capturedAt: "2026-11-21T10:00:00Z"),
            SegmentItem(stream: "temperature", name: "t.csv", bytes: Array("21.5\n".utf8), capturedAt: "2026-11-22T01:00:00+02:00"),
            SegmentItem(stream: "vibration", name: "dup.bin", bytes: Self.other, capturedAt: "2026-11-21T12:00:00Z", ref: true),
        ])
        let outcome = try await h.commit(info)
        let stamp = outcome.receipt.committedAt.filter(\.isNumber)

        let vib = "_tributary/arrivals/stream=vibration/site=plant-a/date=2026-11-21/\(stamp)-\(info.id).jsonl"
        let temp = "_tributary/arrivals/stream=temperature/site=plant-a/date=2026-11-21/\(stamp)-\(info.id).jsonl"
        #expect(h.manifestKeys.contains(vib), "\(h.manifestKeys)")
        #expect(h.manifestKeys.contains(temp), "\(h.manifestKeys)")
        #expect(h.manifestKeys.allSatisfy { $0.hasSuffix(".jsonl") })
        #expect(h.manifestKeys.filter { $0.hasSuffix("-\(info.id).jsonl") }.count == 2)

        let vibArrivals = try h.arrivals(at: vib)
        #expect(vibArrivals.map(\.name) == ["a.csv", "dup.bin"])
        #expect(vibArrivals.map(\.status) == [.stored, .duplicate])
        #expect(vibArrivals.map(\.seq) == [0, 2])
        #expect(vibArrivals.allSatisfy { $0.uploadID == info.id && $0.site == "plant-a" })
        #expect(vibArrivals.map(\.key) == [outcome.receipt.objects[0].key, outcome.receipt.objects[2].key])
        #expect(vibArrivals[1].key == expectedKey(name: "held.csv", bytes: Self.other))
        #expect(vibArrivals[0].capturedAt == "2026-11-21T10:00:00.000Z")
        #expect(vibArrivals[0].receivedAt == outcome.receipt.committedAt)

        let tempArrivals = try h.arrivals(at: temp)
        #expect(tempArrivals.map(\.name) == ["t.csv"])
        #expect(tempArrivals.first?.capturedAt == "2026-11-21T23:00:00.000Z")
        #expect(tempArrivals.first?.sha256 == StreamingDigest.sha256Hex(Array("21.5\n".utf8)))

        #expect(try await h.catalog.unmanifested().isEmpty, "the upload is marked manifested")
    }

    @Test("repairManifests rewrites nothing when every upload is manifested", arguments: CatalogKind.available)
    func repairIsIdempotent(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        _ = try await h.commit(try h.stageObject(name: "a.csv", bytes: Self.content))
        let before = h.lake.keys
        try await h.committer.repairManifests()
        #expect(h.lake.keys == before)
    }

    @Test("a zero-byte object is stored as an empty file", arguments: CatalogKind.available)
    func zeroByteObject(kind: CatalogKind) async throws {
        let h = try await CommitterHarness(kind)
        let info = try h.stageObject(name: "empty.csv", bytes: [])
        let outcome = try await h.commit(info)
        let key = expectedKey(name: "empty.csv", bytes: [])
        #expect(outcome.receipt.objects.map(\.key) == [key])
        #expect(outcome.receipt.objects.map(\.size) == [0])
        #expect(h.lake.bytes(at: key) == [])
    }

    /// With a template that leaves out `{site}`, two sites' keys can coincide. Undoing this
    /// commit's "lost dedup race" placements must then never delete a key another upload owns.
    /// (Refusing such templates outright also satisfies this test.)
    @Test("a duplicate inside a segment never removes another site's object", arguments: CatalogKind.available)
    func orphanRemovalKeepsOthersObjects(kind: CatalogKind) async throws {
        var h = try await CommitterHarness(kind)
        guard let siteless = try? PartitionTemplate("stream={stream}/date={date}") else { return }
        h.committer.template = siteless
        let a = try await h.commit(try h.stageObject(name: "n.csv", bytes: Self.content, site: "plant-a"))
        let keyA = try #require(a.receipt.objects.first?.key)

        let b = try await h.commit(
            try h.stageSegment(
                [
                    SegmentItem(name: "other.csv", bytes: Self.content, capturedAt: "2026-11-21T10:00:00Z"),
                    SegmentItem(name: "n.csv", bytes: Self.content, capturedAt: "2026-11-21T10:00:00Z"),
                ], site: "plant-b"))
        #expect(b.receipt.objects.map(\.status) == [.stored, .duplicate])
        #expect(h.lake.bytes(at: keyA).map { StreamingDigest.sha256Hex($0) } == Self.sha, "plant-a's object at \(keyA) must still be in the lake")
        #expect(try await h.catalog.key(site: "plant-a", sha256: Self.sha) == keyA)
    }
}
