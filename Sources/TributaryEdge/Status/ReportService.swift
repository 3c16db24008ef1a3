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
/// link is up and right after each delivery (the core keeps a site's last report, so a site that
/// goes dark is shown with its last known backlog), and — if `metrics_textfile` is set — Prometheus
/// metrics for node_exporter's textfile collector every 15 s. Both carry exactly what `status` shows.
final class ReportService: Service, @unchecked Sendable {
    let context: AgentContext
    /// One per configured core: the heartbeat goes to the current one.
    let clients: [TusClient]

    init(context: AgentContext, clients: [TusClient]) {
        self.context = context
        self.clients = clients
    }

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await self.loop() }
    }

    private func loop() async throws {
        let c = context.configuration
        var lastBeat = 0.0
        var lastMetrics = 0.0
        var unsupportedLogged = false
        while !Task.isCancelled {
            let now = Date().timeIntervalSince1970
            let delivered = context.reportWake.consume()
            let status: EdgeStatus
            do {
                status = try await BlockingThread.run { try self.current() }
            } catch {
                context.logger.warning("cannot read the journal for a report", metadata: ["error": "\(error)"])
                await context.reportWake.wait(milliseconds: 5000)
                continue
            }
            if let file = c.metricsTextfile, now - lastMetrics >= 15 || delivered {
                lastMetrics = now
                do { try FileIO.replace(file, Array(status.prometheusText(now: now).utf8)) } catch {
                    context.logger.warning("cannot write the metrics textfile", metadata: ["file": "\(file)", "error": "\(error)"])
                }
            }
            let linkUp = context.runtime.link.state == .up
            if linkUp && (delivered || now - lastBeat >= Double(c.heartbeatSeconds)) {
                lastBeat = now
                let report = status.report(reportedAt: Timestamp.format(Date()))
                let client = clients[context.runtime.currentCore.index]
                do {
                    try await BlockingThread.run { () throws -> Void in try client.heartbeat(report) }
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
            // link is not up, look again every second for it to come up.
            var next = linkUp ? lastBeat + Double(c.heartbeatSeconds) - now : 1
            if c.metricsTextfile != nil { next = min(next, lastMetrics + 15 - now) }
            await context.reportWake.wait(milliseconds: Int((max(0.05, min(next, 30)) * 1000).rounded(.up)))
        }
    }

    func current() throws -> EdgeStatus {
        var s = try context.spool.journal.status(configuration: context.configuration)
        s.agentRunning = true
        s.agent = context.runtime.snapshot()
        return s
    }
}
