#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import ServiceLifecycle

/// Removes uploads that passed their expiry without completing.
struct ExpirySweeper: Service {
    let registry: UploadRegistry
    let interval: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try await Task.sleep(for: interval)
                    let swept = await registry.sweepExpired(now: Date())
                    for id in swept { logger.info("expired upload removed", metadata: ["upload.id": "\(id)"]) }
                }
            }
        } catch is CancellationError {
            return
        }
    }
}
