#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import ServiceLifecycle
import TributaryCurl
import TributaryDelivery
import TributaryFiles
import TributaryProtocol

/// Tells the world about the backlog: a heartbeat to the core every `heartbeat_seconds` while the
/// link is up (or not yet tried) and after deliveries — at once after a quiet spell, then at most one every
/// `heartbeat_min_interval_seconds` while deliveries go on (`HeartbeatSchedule`; the core keeps a site's
/// last report, so a site that goes dark is shown with its last known backlog), and — if
/// `metrics_textfile` is set — Prometheus metrics for node_exporter's textfile collector every 15 s and
/// after each delivery. Both carry exactly what `status` shows.
final class ReportService: Service, @unchecked Sendable {
    let context: AgentContext
    /// What it waits on besides its timers: "delivered" (upload lanes): report the new backlog now.
    let deliveries: Wakeup
    /// Sends one heartbeat (blocking; run on its own thread): `TusClient.heartbeat` to the core.
    let heartbeat: @Sendable (SiteReport) throws -> Void

    /// `clients`: one per configured core; each heartbeat goes to the current one (`CoreFailover`).
    convenience init(context: AgentContext, clients: [TusClient], deliveries: Wakeup) {
        let runtime = context.runtime
        self.init(context: context, deliveries: deliveries) { try clients[runtime.currentCore.index].heartbeat($0) }
    }

    /// `heartbeat`: where reports go (unit tests record them).
    init(context: AgentContext, deliveries: Wakeup, heartbeat: @escaping @Sendable (SiteReport) throws -> Void) {
        self.context = context
        self.deliveries = deliveries
        self.heartbeat = heartbeat
    }

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await self.loop() }
    }

    private func loop() async throws {
        let c = context.configuration
        // With the link up, the first beat goes at once. While no call has reached a core yet
        // (`connecting`, the state at start) it is due one heartbeat later: an agent with work to do
        // reaches the core through its uploads first (their outcome, not a heartbeat's, is the
        // first word on the link), and an idle one still reports within one heartbeat interval.
        var schedule = HeartbeatSchedule(
            intervalSeconds: c.heartbeatSeconds, minimumIntervalSeconds: c.heartbeatMinIntervalSeconds,
            lastBeat: context.runtime.link.state == .up ? -Double(c.heartbeatSeconds) : context.clock.now())
        var lastMetrics = 0.0
        var unsupportedLogged = false
        // A delivery's signal usually ends the wait below (which consumes it): carried here.
        var delivered = false
        while !Task.isCancelled {
            let now = context.clock.now()
            if self.deliveries.consume() { delivered = true }
            if delivered { schedule.delivered() }
            let status: EdgeStatus
            do {
                status = try await BlockingThread.run { try self.current() }
            } catch {
                context.logger.warning("cannot read the journal for a report", metadata: ["error": "\(error)"])
                if await self.deliveries.signalled(within: 5000, clock: context.clock) { delivered = true }
                continue
            }
            if let file = c.metricsTextfile, now - lastMetrics >= 15 || delivered {
                lastMetrics = now
                do { try FileIO.replace(file, Array(status.prometheusText(now: now).utf8)) } catch {
                    context.logger.warning("cannot write the metrics textfile", metadata: ["file": "\(file)", "error": "\(error)"])
                }
            }
            // Beats while the link is up, and while no call has reached a core yet (`connecting`):
            // on an idle agent the heartbeat is the first word with the core, and its answer
            // brings the link up. A link that is down or backing off is left to the uploads.
            let state = context.runtime.link.state
            let mayBeat = state == .up || state == .connecting
            if mayBeat && schedule.isDue(now: now) {
                schedule.beat(at: now)
                let report = status.report(reportedAt: Timestamp.format(Date(timeIntervalSince1970: now)))
                let heartbeat = self.heartbeat
                let core = context.runtime.currentCore.index
                do {
                    try await BlockingThread.run { () throws -> Void in try heartbeat(report) }
                    context.runtime.linkSucceeded(core: core)
                } catch let e as UploadError {
                    if e.status == 404 && !unsupportedLogged {
                        unsupportedLogged = true
                        context.logger.notice("the core does not take heartbeats (an older core); backlog reports are off")
                    } else if e.status != 404 {
                        context.logger.debug("heartbeat failed", metadata: ["error": "\(e)"])
                    }
                } catch {
                    context.logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
                }
            }
            // Until the next heartbeat or metrics write is due (a delivery signals sooner); while the
            // link is down or backing off, look again every second for it to come up.
            var next = mayBeat ? schedule.secondsUntilDue(now: now) : 1
            if c.metricsTextfile != nil { next = min(next, lastMetrics + 15 - now) }
            delivered = await self.deliveries.signalled(
                within: Int((max(0.05, min(next, 30)) * 1000).rounded(.up)), clock: context.clock)
        }
    }

    func current() throws -> EdgeStatus {
        var s = try context.spool.journal.status(configuration: context.configuration)
        s.agentRunning = true
        s.agent = context.runtime.snapshot()
        return s
    }
}
