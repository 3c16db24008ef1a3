#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Logging
import TributaryProtocol

/// Admin endpoints (admin token only): site registration. Also the health probes (no token).
/// Listing sites is the fleet view (`FleetController`).
struct AdminController: Sendable {
    let sites: SiteRegistry
    let auth: Authenticator
    let lake: any LakeStore
    let catalog: any Catalog
    let recovery: RecoveryProgress
    let logger: Logger

    func addRoutes(to router: Router<CoreRequestContext>) {
        router.get("/healthz") { _, _ in Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n"))) }
        // Unauthenticated: says what is not ready, never where (no paths, buckets or endpoints;
        // the details go to the log).
        router.get("/readyz") { _, _ in
            do {
                try await catalog.check()
            } catch {
                logger.warning("not ready: catalog", metadata: ["error": "\(error)"])
                return CoreError(.catalogUnavailable, "the catalog does not answer").response()
            }
            do {
                try await lake.check()
            } catch {
                logger.warning("not ready: lake", metadata: ["error": "\(error)"])
                return CoreError(.lakeUnavailable, "the lake does not answer").response()
            }
            switch recovery.current {
            case .starting:
                return CoreError(.recovering, "start-up recovery is loading staged uploads").response()
            case .committing(let n):
                return CoreError(.recovering, "start-up recovery is committing \(n) staged uploads").response()
            case .done:
                return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ready\n")))
            }
        }
        // Errors are answered by JSONErrorMiddleware, as on every route.
        router.post(RouterPath(stringLiteral: WireProtocol.sitesPath)) { req, ctx in
            try await auth.requireAdmin(req, ctx)
            var request = req
            let body = try await request.collectBody(upTo: 64 * 1024)
            struct NewSite: Codable { var site: String }
            guard let new = try? JSON.decode(NewSite.self, Array(buffer: body)) else {
                throw CoreError(.badRequest, "body must be {\"site\": \"<id>\"}")
            }
            let token = try await sites.add(new.site)
            logger.info("site registered", metadata: ["site.id": "\(new.site)"])
            struct Created: Encodable { var site: String; var token: String }
            return Self.json(.created, Created(site: new.site, token: token))
        }
    }

    static func json<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) -> Response {
        let bytes = (try? JSON.encode(value)) ?? []
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes + [0x0a])))
    }
}
