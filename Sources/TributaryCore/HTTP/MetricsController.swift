#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Logging
import TributaryProtocol

/// `GET /metrics`: Prometheus text format. Readers: the admin token, or `metrics_token` if set,
/// as `Authorization: Bearer <token>` (Prometheus' `authorization` scrape setting). The node's
/// own metrics (`NodeMetrics`) first, then the per-site figures read from the catalog now
/// (`FleetMetrics`). If the catalog cannot be read, the node's own metrics are still served with
/// `tributary_core_fleet_metrics_up 0`.
struct MetricsController: Sendable {
    let fleet: Fleet
    let metrics: NodeMetrics
    let auth: Authenticator
    let metricsTokenSHA256: String?
    let logger: Logger

    static let path = "/metrics"

    init(fleet: Fleet, metrics: NodeMetrics, auth: Authenticator, metricsToken: String?, logger: Logger) {
        self.fleet = fleet
        self.metrics = metrics
        self.auth = auth
        self.metricsTokenSHA256 = metricsToken.map { StreamingDigest.sha256Hex(Array($0.utf8)) }
        self.logger = logger
    }

    func addRoutes(to router: Router<CoreRequestContext>) {
        router.get(RouterPath(stringLiteral: Self.path)) { req, ctx in
            try await self.authorize(req, ctx)
            var text = metrics.text()
            var up = 1
            do {
                text += FleetMetrics.render(try await fleet.view())
            } catch {
                up = 0
                logger.warning("/metrics without the per-site figures: the catalog cannot be read", metadata: ["error": "\(error)"])
            }
            text += "# HELP tributary_core_fleet_metrics_up 1 if the per-site figures could be read from the catalog.\n"
            text += "# TYPE tributary_core_fleet_metrics_up gauge\ntributary_core_fleet_metrics_up \(up)\n"
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
    }

    func authorize(_ req: Request, _ ctx: CoreRequestContext) async throws {
        if let want = metricsTokenSHA256, let header = req.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer",
                Authenticator.constantTimeEquals(StreamingDigest.sha256Hex(Array(parts[1].utf8)), want)
            {
                return
            }
        }
        do {
            try await auth.requireAdmin(req, ctx)
        } catch let e as CoreError where e.code == "forbidden" {
            throw CoreError(.forbidden, "/metrics needs the admin token or the metrics token")
        }
    }
}
