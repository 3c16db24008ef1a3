import Foundation
import Synchronization
import Testing
import TributaryProtocol
import TributaryTestKit
@testable import TributaryCore

/// The registry tells its `StagingObserver` of each durable chunk and of every way an upload ends
/// without a commit (the S3 lake's part pipelining hangs on these).
@Suite("Upload registry: staging observer")
struct UploadRegistryObserverTests {
    final class Recorder: StagingObserver {
        let events = Mutex<[String]>([])
        func durable(_ info: UploadInfo, bytes: UInt64) { events.withLock { $0.append("durable \(info.id) \(bytes)") } }
        func ended(_ info: UploadInfo, reason: String) { events.withLock { $0.append("ended \(info.id) \(reason)") } }
    }

    func admitted(_ registry: UploadRegistry, _ h: CommitterHarness, now: Date, length: UInt64 = 100) async throws -> UploadInfo {
        let info = try UploadInfo.fromMetadata(
            UploadMetadata(["name": "o.bin", "stream": "s"]), header: "", id: CommitterHarness.newID(), site: "plant-a", length: length,
            now: now, expiry: .seconds(60))
        try h.staging.create(info)
        try await registry.admit(info, limits: SiteLimits(), freeBytes: 1 << 40)
        return info
    }

    @Test("durable chunks, then rejection, termination and expiry are reported; an empty chunk is not")
    func reports() async throws {
        let h = try await CommitterHarness(.memory)
        let recorder = Recorder()
        let registry = UploadRegistry(staging: h.staging, catalog: h.catalog, observer: recorder)
        let now = Date()

        let a = try await admitted(registry, h, now: now)
        _ = try await registry.patch(a.id, site: "plant-a", offset: 0, bodyLength: 40, now: now)
        _ = try await registry.chunkStored(a.id, count: 40)
        _ = try await registry.patch(a.id, site: "plant-a", offset: 40, bodyLength: 0, now: now)
        _ = try await registry.chunkStored(a.id, count: 0)
        _ = try await registry.patch(a.id, site: "plant-a", offset: 40, bodyLength: 60, now: now)
        #expect(try await registry.chunkStored(a.id, count: 60) == .persistAndCommit(offset: 100))
        await registry.commitFinished(a.id, .failed)
        await registry.commitFinished(a.id, .rejected)

        let b = try await admitted(registry, h, now: now)
        #expect(try await registry.terminate(b.id, site: "plant-a"))

        let c = try await admitted(registry, h, now: now)
        #expect(await registry.sweepExpired(now: now.addingTimeInterval(61)) == [c.id])

        #expect(
            recorder.events.withLock { $0 } == [
                "durable \(a.id) 40", "durable \(a.id) 100", "ended \(a.id) rejected", "ended \(b.id) terminated", "ended \(c.id) expired",
            ])
    }
}
