#if canImport(Glibc)
import Glibc
#endif
import Logging
import ServiceLifecycle
import Synchronization
import TributaryDelivery
import TributaryFiles

/// What start-up recovery has left to do, for `/readyz`.
public final class RecoveryProgress: Sendable {
    public enum Phase: Sendable, Equatable {
        /// Loading staging and repairing manifests.
        case starting
        /// Committing uploads a previous run left complete: this many are still to go.
        case committing(remaining: Int)
        case done
    }

    private let phase = Mutex<Phase>(.starting)

    public init() {}

    public var current: Phase { phase.withLock { $0 } }

    func set(_ p: Phase) { phase.withLock { $0 = p } }

    func oneCommitted() {
        phase.withLock { p in
            if case .committing(let n) = p { p = .committing(remaining: max(0, n - 1)) }
        }
    }
}

/// Start-up recovery, beside live traffic: the listener is open from the first moment (a poison
/// upload or a backend outage cannot keep `/healthz` dark), and `/readyz` answers 503
/// "recovering" until this is done.
///
/// 0. Brings the catalog schema up to date, waiting for the database if it is not up yet.
/// 1. Lets the lake clear what an interrupted run left (`LakeStore.clearLeftovers`: scratch
///    files; with S3, stale multipart uploads).
/// 2. Loads every staged upload and quarantine record into the registry.
/// 3. Commits the uploads left complete, at most `concurrency` at a time; each goes through
///    `Committer.commitStaged`, so one that crashed the node before is quarantined, not retried.
/// 4. Then, every `manifestRepairInterval`, writes arrival manifests that a commit could not
///    write at the time (the lake was down just after the catalog commit).
struct RecoveryService: Service {
    /// Brings the catalog schema up to date, waiting for the database (PostgreSQL) as long as it takes.
    let prepare: @Sendable () async throws -> Void
    let registry: UploadRegistry
    let committer: Committer
    let lake: any LakeStore
    let progress: RecoveryProgress
    let concurrency: Int
    let manifestRepairInterval: Duration
    let logger: Logger
    var clock: any ServiceClock = SystemClock()

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await prepare() }
        } catch {
            return  // shut down while waiting for the database
        }
        await recover()
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await clock.sleep(for: manifestRepairInterval)
                if Task.isCancelled { return }
                await repairManifests(atStart: false)
            }
        }
    }

    func recover() async {
        await lake.clearLeftovers()
        for (id, error) in await registry.loadAll() {
            logger.error("a staged upload cannot be read; left in place", metadata: ["upload.id": "\(id)", "error": "\(error)"])
        }
        await repairManifests(atStart: true)
        let pending = await registry.pendingCommits()
        progress.set(.committing(remaining: pending.count))
        var next = 0
        await withTaskGroup(of: Void.self) { group in
            func startOne() {
                let info = pending[next]
                next += 1
                group.addTask {
                    logger.notice("committing upload left complete by a previous run", metadata: ["upload.id": "\(info.id)"])
                    // The outcome is recorded and logged by commitStaged.
                    try? await committer.commitStaged(info, registry: registry)
                    progress.oneCommitted()
                }
            }
            // On SIGTERM no further commit starts; those running finish (each is durable or not
            // begun), and the rest stay staged for the next start.
            while next < pending.count && next < max(1, concurrency) && !Task.isShuttingDownGracefully { startOne() }
            while await group.next() != nil {
                if next < pending.count && !Task.isShuttingDownGracefully { startOne() }
            }
        }
        guard next == pending.count else {
            logger.notice("start-up recovery stopped by shutdown; the rest stay staged for the next start", metadata: [
                "committed": "\(next)", "left": "\(pending.count - next)",
            ])
            return
        }
        progress.set(.done)
        if !pending.isEmpty { logger.notice("start-up recovery finished", metadata: ["uploads": "\(pending.count)"]) }
    }

    func repairManifests(atStart: Bool) async {
        do {
            try await committer.repairManifests()
        } catch {
            // The lake or catalog is down: the next round repairs them.
            logger.warning("could not repair arrival manifests", metadata: ["error": "\(error)", "at_start": "\(atStart)"])
        }
    }
}
