import Foundation
import Logging
import Synchronization
import Testing
import TributaryCurl
import TributaryDelivery
import TributaryProtocol
import TributaryTestKit
@testable import TributaryEdge

/// The edge services' loops driven by a `ManualClock`: each timer fires when the test moves the
/// clock, never after real sleeping. `clock.sleeps(atLeast: n)` returns once the loop has parked
/// for the n-th time, so every check below sees the loop between two passes.
@Suite struct ServiceLoopTests {
    struct Agent {
        let dir: TemporaryDirectory
        let context: AgentContext
        let clock: ManualClock
    }

    static func agent(_ configure: (inout EdgeConfiguration) -> Void = { _ in }) throws -> Agent {
        let dir = try TemporaryDirectory()
        var c = EdgeConfiguration()
        c.site = "s1"
        c.spoolDirectory = dir.path("spool")
        c.inboxDirectory = dir.path("inbox")
        configure(&c)
        let clock = ManualClock()
        let logger = Logger(label: "test")
        let spool = try SpoolIntake(directory: c.spoolDirectory, logger: logger)
        let runtime = AgentRuntime(configuration: c, clock: { clock.now() }, random: { 0.5 })
        return Agent(dir: dir, context: AgentContext(configuration: c, spool: spool, runtime: runtime, logger: logger, clock: clock), clock: clock)
    }

    @Test func theHeartbeatGoesEveryHeartbeatSecondsAndAfterDeliveriesAtMostOneEveryMinimumInterval() async throws {
        let a = try Self.agent { $0.heartbeatSeconds = 30 }
        a.context.runtime.linkSucceeded()
        let beats = Mutex<[SiteReport]>([])
        let deliveries = Wakeup()
        let service = ReportService(context: a.context, deliveries: deliveries) { r in beats.withLock { $0.append(r) } }
        let task = Task { try await service.run() }
        defer { task.cancel() }

        await a.clock.sleeps(atLeast: 1)
        #expect(beats.withLock { $0.count } == 1, "the first heartbeat goes at start")
        a.clock.advance(seconds: 29)
        #expect(a.clock.sleepsStarted == 1 && a.clock.sleeping == 1, "29 s in, the loop still waits")
        a.clock.advance(seconds: 1)
        await a.clock.sleeps(atLeast: 2)
        #expect(beats.withLock { $0.count } == 2)
        #expect(beats.withLock { $0.last?.reportedAt } == Timestamp.format(a.clock.date), "reported at the clock's time")

        // A delivery signals the service: the new backlog is reported at once, not 30 s later.
        a.clock.advance(seconds: 10)
        deliveries.signal()
        await a.clock.sleeps(atLeast: 3)
        #expect(beats.withLock { $0.count } == 3)

        // More deliveries right after it are coalesced: one heartbeat `heartbeat_min_interval_seconds`
        // (5) after the last one, reporting the backlog as it is then.
        deliveries.signal()
        await a.clock.sleeps(atLeast: 4)
        deliveries.signal()
        await a.clock.sleeps(atLeast: 5)
        a.clock.advance(seconds: 4)
        #expect(beats.withLock { $0.count } == 3, "no beat per delivery")
        #expect(a.clock.sleepsStarted == 5, "4 s after the beat, the loop still waits")
        a.clock.advance(seconds: 1)
        await a.clock.sleeps(atLeast: 6)
        #expect(beats.withLock { $0.count } == 4, "the burst's trailing beat")

        // While the link is not up nothing is sent; the loop looks again every second.
        for _ in 0..<a.context.configuration.downAfterFailures { a.context.runtime.linkFailed("test") }
        a.clock.advance(seconds: 30)
        await a.clock.sleeps(atLeast: 7)
        a.clock.advance(seconds: 1)
        await a.clock.sleeps(atLeast: 8)
        #expect(beats.withLock { $0.count } == 4)
    }

    @Test func anIdleAgentStillConnectingBeatsOneHeartbeatAfterStartAndThatBringsTheLinkUp() async throws {
        let a = try Self.agent { $0.heartbeatSeconds = 30 }
        #expect(a.context.runtime.link.state == .connecting)
        let beats = Mutex<[SiteReport]>([])
        let service = ReportService(context: a.context, deliveries: Wakeup()) { r in beats.withLock { $0.append(r) } }
        let task = Task { try await service.run() }
        defer { task.cancel() }

        await a.clock.sleeps(atLeast: 1)
        #expect(beats.withLock { $0.count } == 0, "no heartbeat before any call reached the core")
        a.clock.advance(seconds: 30)
        await a.clock.sleeps(atLeast: 2)
        #expect(beats.withLock { $0.count } == 1, "an idle agent reports within one heartbeat")
        #expect(a.context.runtime.link.state == .up, "the heartbeat's answer brings the link up")
    }

    @Test func anInboxFileIsTakenOnceItHasSettledForSettleMilliseconds() async throws {
        let a = try Self.agent {
            $0.useInotify = false
            $0.settleMilliseconds = 2000
            $0.pollMilliseconds = 500
        }
        let inbox = a.context.configuration.inboxDirectory
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        try Data("t,v\n1,2\n".utf8).write(to: URL(fileURLWithPath: inbox + "/a.csv"))
        let accepted = Wakeup()
        let service = IntakeService(context: a.context, accepted: accepted)
        let task = Task { try await service.run() }
        defer { task.cancel() }

        // Seen at 0 s, unchanged at 0.5, 1.0, 1.5 s: not settled yet.
        await a.clock.sleeps(atLeast: 1)
        for pass in 2...4 {
            #expect(try a.context.spool.journal.usage().objects == 0)
            a.clock.advance(seconds: 0.5)
            await a.clock.sleeps(atLeast: pass)
        }
        #expect(try a.context.spool.journal.usage().objects == 0)
        #expect(!accepted.consume())
        // 2.0 s unchanged: taken, removed from the inbox, and the batcher told.
        a.clock.advance(seconds: 0.5)
        await a.clock.sleeps(atLeast: 5)
        #expect(try a.context.spool.journal.usage().objects == 1)
        #expect(!FileManager.default.fileExists(atPath: inbox + "/a.csv"))
        #expect(accepted.consume())
        #expect(try a.context.spool.journal.pendingObjects(limit: 10).map(\.name) == ["a.csv"])
    }

    @Test func theStatusFileIsRewrittenOnChangeAndOnceAMinute() async throws {
        let a = try Self.agent()
        let path = AgentRuntime.statusPath(spool: a.context.configuration.spoolDirectory)
        let service = StatusWriterService(runtime: a.context.runtime, spool: a.context.configuration.spoolDirectory, logger: a.context.logger, clock: a.clock)
        let task = Task { try await service.run() }
        defer { task.cancel() }

        // Written at start, then at most every 250 ms while the view changes.
        await a.clock.sleeps(atLeast: 1)
        #expect(FileManager.default.fileExists(atPath: path))
        a.clock.advance(seconds: 0.25)
        await a.clock.sleeps(atLeast: 2)  // idle: waits up to a minute for a change
        try FileManager.default.removeItem(atPath: path)
        a.clock.advance(seconds: 59)
        #expect(!FileManager.default.fileExists(atPath: path))
        a.clock.advance(seconds: 1)
        await a.clock.sleeps(atLeast: 3)
        #expect(FileManager.default.fileExists(atPath: path), "rewritten after a minute so updated_at shows the agent alive")

        // A change is written without waiting for the minute.
        a.clock.advance(seconds: 0.25)
        await a.clock.sleeps(atLeast: 4)
        try FileManager.default.removeItem(atPath: path)
        a.context.runtime.linkSucceeded()
        await a.clock.sleeps(atLeast: 5)
        #expect(FileManager.default.fileExists(atPath: path))
    }

    static func unreachableClients(_ c: EdgeConfiguration) -> [TusClient] {
        var o = TransferOptions()
        o.connectTimeout = 2
        return c.coreURLs.map { TusClient(baseURL: $0, token: SiteToken("t"), options: o) }
    }

    /// A batcher with one lane, its have-check against `coreURLs` (nothing listening in these tests).
    static func runBatcher(_ a: Agent, wake: Wakeup, lane: Wakeup) -> Task<Void, any Error> {
        let notice = CoreSwitchNotice(cores: a.context.configuration.coreURLs, logger: a.context.logger, wakes: [])
        let service = BatcherService(context: a.context, clients: unreachableClients(a.context.configuration), wake: wake, lanes: [lane], coreSwitched: notice)
        return Task { try await service.run() }
    }

    @Test func anIdleBatcherWaitsForASignalNotForATimer() async throws {
        let a = try Self.agent()
        let (wake, lane) = (Wakeup(), Wakeup())
        let task = Self.runBatcher(a, wake: wake, lane: lane)
        defer { task.cancel() }

        // Nothing pending: it parks on the long safety timer, not `poll_ms`.
        await a.clock.sleeps(atLeast: 1)
        a.clock.advance(seconds: Double(BatcherService.idleMilliseconds) / 1000 - 1)
        #expect(a.clock.sleepsStarted == 1 && a.clock.sleeping == 1, "no pass while nothing signals")
        // A signal (intake, an S3 source, the doorbell `put` rings) ends the wait at once.
        wake.signal()
        await a.clock.sleeps(atLeast: 2)
        #expect(!lane.consume(), "no batch built from nothing")
        // The safety timer itself.
        a.clock.advance(seconds: Double(BatcherService.idleMilliseconds) / 1000)
        await a.clock.sleeps(atLeast: 3)
    }

    @Test func theBatcherAsksTheCoreOnlyWhenTheLinksBackoffAllows() async throws {
        let a = try Self.agent {
            $0.coreURLs = ["http://127.0.0.1:9"]  // nothing listens: every have-check fails at once
            $0.retryBaseMilliseconds = 4000
            $0.retryCapMilliseconds = 4000
            $0.segmentMaxAgeMilliseconds = 0
        }
        let file = a.dir.path("reading.csv")
        try Data("t,v\n1,2\n".utf8).write(to: URL(fileURLWithPath: file))
        _ = try a.context.spool.ingest([IntakeItem(sourcePath: file, stream: "s", name: "reading.csv")], configuration: a.context.configuration, now: a.clock.date)
        let (wake, lane) = (Wakeup(), Wakeup())
        let task = Self.runBatcher(a, wake: wake, lane: lane)
        defer { task.cancel() }

        // The link is usable and nothing is queued: the object is due at once, the have-check fails.
        await a.clock.sleeps(atLeast: 1)
        #expect(a.context.runtime.link.consecutiveFailures == 1)
        let backoff = a.context.runtime.secondsUntilAttempt()
        #expect(backoff > 0)
        // Within the backoff nothing is asked, however often the batcher is woken.
        wake.signal()
        await a.clock.sleeps(atLeast: 2)
        #expect(a.context.runtime.link.consecutiveFailures == 1)
        // Once it has passed, the next pass asks again; the object stays pending, no batch is built.
        a.clock.advance(seconds: backoff)
        await a.clock.sleeps(atLeast: 3)
        #expect(a.context.runtime.link.consecutiveFailures == 2)
        #expect(try a.context.spool.journal.pendingObjects(limit: 10).count == 1)
        #expect(!lane.consume())
    }

    @Test func anIdleUploadLaneWaitsForABatchNotForATimer() async throws {
        let a = try Self.agent()
        let wakes = Dictionary(uniqueKeysWithValues: UploadLane.allCases.map { ($0, Wakeup()) })
        let clients = Dictionary(uniqueKeysWithValues: UploadLane.allCases.map { ($0, Self.unreachableClients(a.context.configuration)) })
        let notice = CoreSwitchNotice(cores: a.context.configuration.coreURLs, logger: a.context.logger, wakes: [])
        let service = UploaderService(context: a.context, clients: clients, wakes: wakes, spoolFreed: Wakeup(), delivered: Wakeup(), coreSwitched: notice)
        let task = Task { try await service.run() }
        defer { task.cancel() }

        let lanes = UploadLane.allCases.count
        await a.clock.sleeps(atLeast: lanes)
        a.clock.advance(seconds: Double(UploaderService.idleMilliseconds) / 1000 - 1)
        #expect(a.clock.sleepsStarted == lanes, "no lane looks at the journal while nothing signals")
        // "A batch is built" wakes that lane only.
        wakes[.fresh]?.signal()
        await a.clock.sleeps(atLeast: lanes + 1)
        #expect(a.clock.sleepsStarted == lanes + 1)
        // The safety timer: every lane looks once more.
        a.clock.advance(seconds: Double(UploaderService.idleMilliseconds) / 1000)
        await a.clock.sleeps(atLeast: 2 * lanes + 1)
    }

    @Test func aRingOfTheSpoolDoorbellWakesTheBatcher() async throws {
        let a = try Self.agent()
        let spool = a.context.configuration.spoolDirectory
        let ringing = Wakeup()
        let service = DoorbellService(spool: spool, ringing: ringing, fallbackMilliseconds: 1000, clock: a.clock, logger: a.context.logger)
        let task = Task { try await service.run() }
        defer { task.cancel() }
        // Built, the service watches the file; `put` (another process) opens and closes it.
        #expect(FileManager.default.fileExists(atPath: SpoolDoorbell.path(spool: spool)))
        for _ in 0..<2 {
            _ = ringing.consume()
            SpoolDoorbell.ring(spool: spool)
            // A manual clock that never moves: only the ring can end this wait.
            #expect(await ringing.signalled(within: 3_600_000, clock: a.clock))
        }
        #expect(a.clock.sleepsStarted == 2, "only the test's own waits: no timer in the doorbell with inotify")
    }
}
