#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import ServiceLifecycle
import TributaryDelivery

/// Removes uploads that passed their expiry without completing, every `interval`, by `clock`'s
/// time (a `ManualClock` drives it in unit tests).
struct ExpirySweeper: Service {
    let registry: UploadRegistry
    let interval: Duration
    let logger: Logger
    var clock: any ServiceClock = SystemClock()

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await clock.sleep(for: interval)
                if Task.isCancelled { return }
                let swept = await registry.sweepExpired(now: clock.date)
                for id in swept { logger.info("expired upload removed", metadata: ["upload.id": "\(id)"]) }
            }
        }
    }
}
