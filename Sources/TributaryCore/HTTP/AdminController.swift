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
                return CoreError(.serviceUnavailable, "catalog_unavailable", "the catalog does not answer", headers: [.retryAfter: "5"]).response()
            }
            do {
                try await lake.check()
            } catch {
                logger.warning("not ready: lake", metadata: ["error": "\(error)"])
                return CoreError(.serviceUnavailable, "lake_unavailable", "the lake does not answer", headers: [.retryAfter: "5"]).response()
            }
            switch recovery.current {
            case .starting:
                return CoreError(.serviceUnavailable, "recovering", "start-up recovery is loading staged uploads", headers: [.retryAfter: "2"]).response()
            case .committing(let n):
                return CoreError(
                    .serviceUnavailable, "recovering", "start-up recovery is committing \(n) staged uploads", headers: [.retryAfter: "2"]
                ).response()
            case .done:
                return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ready\n")))
            }
        }
        router.post(RouterPath(stringLiteral: WireProtocol.sitesPath)) { req, ctx in
            do {
                try await auth.requireAdmin(req, ctx)
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
        try await add(site, withToken: true)!
    }

    /// Registers `site`; returns its token (shown once), or nil when `withToken` is false (a site
    /// that authenticates by client certificate only: `addCertificate`).
    public func add(_ site: String, withToken: Bool) async throws -> String? {
        try Names.validateSite(site)
        let token = withToken ? Authenticator.newToken() : nil
        do {
            try await catalog.addSite(site, tokenSHA256: token.map { StreamingDigest.sha256Hex(Array($0.utf8)) }, createdAt: Timestamp.format(Date()))
        } catch is SiteExistsError {
            throw CoreError.conflict("site_exists", "site '\(site)' is already registered")
        }
        return token
    }
}
