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
    let logger: Logger

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/readyz") { _, _ in
            do {
                try await catalog.check()
                try await lake.check()
                return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ready\n")))
            } catch {
                return CoreError.unavailable("not ready: \(error)").response()
            }
        }
        router.post(RouterPath(stringLiteral: WireProtocol.sitesPath)) { req, _ in
            do {
                try await auth.requireAdmin(req)
                var request = req
                let body = try await request.collectBody(upTo: 64 * 1024)
                struct NewSite: Codable { var site: String }
                guard let new = try? JSON.decode(NewSite.self, Array(buffer: body)) else {
                    throw CoreError.badRequest("bad_request", "body must be {\"site\": \"<id>\"}")
                }
                let token = try await sites.add(new.site)
                logger.info("site registered", metadata: ["site.id": "\(new.site)"])
                struct Created: Encodable { var site: String; var token: String }
                return Self.json(.created, Created(site: new.site, token: token))
            } catch {
                return CoreError.from(error).response()
            }
        }
    }

    static func json<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) -> Response {
        let bytes = (try? JSON.encode(value)) ?? []
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes + [0x0a])))
    }
}

/// Registers sites: validates the id, makes a token, stores only its hash.
public struct SiteRegistry: Sendable {
    let catalog: any Catalog

    public init(catalog: any Catalog) { self.catalog = catalog }

    /// Returns the new site's token (shown once).
    public func add(_ site: String) async throws -> String {
        try Names.validateSite(site)
        let token = Authenticator.newToken()
        do {
            try await catalog.addSite(site, tokenSHA256: StreamingDigest.sha256Hex(Array(token.utf8)), createdAt: Timestamp.format(Date()))
        } catch is SiteExistsError {
            throw CoreError.conflict("site_exists", "site '\(site)' is already registered")
        }
        return token
    }
}
