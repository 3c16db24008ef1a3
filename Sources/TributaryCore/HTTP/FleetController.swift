#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Logging
import TributaryProtocol

/// Issue 5: edges' heartbeats (site token) and the fleet view (admin token).
struct FleetController: Sendable {
    let fleet: Fleet
    let auth: Authenticator
    let gate: SiteGate
    let refusals: RefusalCounter
    let metrics: NodeMetrics
    let logger: Logger

    /// Largest heartbeat body.
    static let maxReportBytes = 1 << 20

    func addRoutes(to router: Router<CoreRequestContext>) {
        router.post(RouterPath(stringLiteral: WireProtocol.heartbeatPath)) { req, ctx in
            try await self.heartbeat(req, ctx)
        }
        router.get(RouterPath(stringLiteral: WireProtocol.sitesPath)) { req, ctx in
            try await auth.requireAdmin(req, ctx)
            let history = try Self.historyParameter(req)
            return try Self.json(.ok, try await fleet.view(historySeconds: history))
        }
        router.get(RouterPath(stringLiteral: WireProtocol.sitesPath + "/:site")) { req, ctx in
            try await auth.requireAdmin(req, ctx)
            let site = ctx.parameters.get("site") ?? ""
            guard let view = try await fleet.site(site, historySeconds: try Self.historyParameter(req)) else {
                throw CoreError(.notFound, "no site '\(Names.printable(site))'")
            }
            return try Self.json(.ok, view)
        }
    }

    func heartbeat(_ req: Request, _ ctx: CoreRequestContext) async throws -> Response {
        guard case .site(let site) = try await auth.principal(req, ctx) else {
            throw CoreError(.forbidden, "heartbeats come from a site's token, not the admin token")
        }
        return try await refusals.counting(site, at: gate) {
            try gate.take(.heartbeat, site: site)
            return try await record(req, site: site)
        }
    }

    private func record(_ req: Request, site: String) async throws -> Response {
        var request = req
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Self.maxReportBytes)
        } catch {
            throw CoreError(.tooLarge, "a heartbeat body may have at most \(Self.maxReportBytes) bytes")
        }
        let report: SiteReport
        do {
            report = try JSON.decode(SiteReport.self, Array(buffer: body))
        } catch let e as DecodingError {
            throw CoreError(.badReport, "heartbeat body: \(e.fieldDescription) (docs/PROTOCOL.md, \"Heartbeat\")")
        }
        try await fleet.record(site: site, report: try report.validated())
        metrics.heartbeat()
        logger.debug("heartbeat", metadata: ["site.id": "\(site)", "pending.objects": "\(report.pendingObjects)"])
        return Response(status: .noContent)
    }

    /// `?history=SECONDS`: backlog points of that last stretch (0 … the retention).
    static func historyParameter(_ req: Request) throws -> Int? {
        guard let v = req.uri.queryParameters.get("history") else { return nil }
        guard let n = Int(v), n >= 0 else { throw CoreError(.badRequest, "history must be a non-negative number of seconds") }
        return n
    }

    static func json<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try FleetView.encode(value) + [0x0a])))
    }
}
