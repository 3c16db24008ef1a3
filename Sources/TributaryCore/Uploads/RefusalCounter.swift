#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import ServiceLifecycle
import Synchronization
import TributaryDelivery
import TributaryProtocol

/// Counts requests refused by a limit (`LimitRefusal`) per site and reason for the fleet view.
/// A flood of refused requests must not become a flood of catalog writes, so refusals are summed
/// in memory and written once per `interval` per (site, reason) — by this service, and once more
/// at shutdown. The node's `/metrics` counter goes up at once. It waits and timestamps by `clock`
/// (a `ManualClock` drives it in unit tests).
public final class RefusalCounter: Service, Sendable {
    private let pending = Mutex<[Key: Int]>([:])
    private let catalog: any Catalog
    private let metrics: NodeMetrics?
    private let interval: Duration
    private let logger: Logger
    private let clock: any ServiceClock

    struct Key: Hashable {
        var site: String
        var reason: String
    }

    public init(catalog: any Catalog, metrics: NodeMetrics?, interval: Duration = .seconds(2), logger: Logger,
                clock: any ServiceClock = SystemClock()) {
        self.clock = clock
        self.catalog = catalog
        self.metrics = metrics
        self.interval = interval
        self.logger = logger
    }

    /// Runs `body` as one request of `site` in progress at `gate`; a limit refusal, from the gate
    /// or from `body`, is counted before it is rethrown. The one path of every site request.
    public func counting<T>(_ site: String, at gate: SiteGate, _ body: () async throws -> T) async throws -> T {
        do {
            return try await gate.withRequest(site) { try await body() }
        } catch let refusal as LimitRefusal {
            count(site: site, reason: refusal.kind.rawValue)
            throw refusal
        }
    }

    public func count(site: String, reason: String) {
        metrics?.rejected(reason: reason)
        pending.withLock { $0[Key(site: site, reason: reason), default: 0] += 1 }
    }

    /// Writes what was counted since the last flush; keeps it for the next one if the catalog fails.
    public func flush() async {
        let batch = pending.withLock { p in
            let b = p
            p = [:]
            return b
        }
        let at = Timestamp.format(clock.date)
        for (key, n) in batch {
            do {
                try await catalog.recordRejection(site: key.site, reason: key.reason, count: n, at: at)
            } catch {
                logger.warning("could not count refused requests", metadata: ["site.id": "\(key.site)", "error": "\(error)"])
                pending.withLock { $0[key, default: 0] += n }
            }
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.clock.sleep(for: self.interval)
                if Task.isCancelled { return }
                await self.flush()
            }
        }
        await flush()
    }
}
