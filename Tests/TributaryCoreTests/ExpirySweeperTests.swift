import Foundation
import Logging
import Testing
import TributaryProtocol
import TributaryTestKit
@testable import TributaryCore

/// The core's expiry sweep on a `ManualClock`: it sweeps every interval by the clock's time, and an
/// upload goes exactly when its expiry has passed — no real sleeping.
@Suite("Expiry sweeper")
struct ExpirySweeperTests {
    @Test("an unfinished upload is removed at the first sweep after its expiry, by the injected clock")
    func sweepsByTheInjectedClock() async throws {
        let h = try await CommitterHarness(.memory)
        let clock = ManualClock()
        let registry = UploadRegistry(staging: h.staging, catalog: h.catalog)
        let info = try UploadInfo.fromMetadata(
            UploadMetadata(["name": "e.bin", "stream": "s"]), header: "", id: CommitterHarness.newID(), site: "plant-a", length: 10,
            now: clock.date, expiry: .seconds(150))
        try h.staging.create(info)
        try await registry.admit(info, limits: SiteLimits(), freeBytes: 1 << 40)
        let sweeper = ExpirySweeper(registry: registry, interval: .seconds(60), logger: Logger(label: "test"), clock: clock)
        let task = Task { try await sweeper.run() }
        defer { task.cancel() }

        await clock.sleeps(atLeast: 1)
        // Sweeps at 60 s and 120 s: not expired yet.
        for n in 2...3 {
            clock.advance(seconds: 60)
            await clock.sleeps(atLeast: n)
            #expect(await registry.usage(of: "plant-a").openUploads == 1, "swept before its expiry")
        }
        // The sweep at 180 s is past the expiry (150 s).
        clock.advance(seconds: 60)
        await clock.sleeps(atLeast: 4)
        #expect(await registry.usage(of: "plant-a").openUploads == 0)
    }
}
