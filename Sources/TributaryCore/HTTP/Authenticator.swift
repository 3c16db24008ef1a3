#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import TributaryProtocol

/// Decides who is calling, from `Authorization: Bearer <token>` and, under mutual TLS, the
/// verified client certificate. The rules (docs/SECURITY.md, "Who is who"):
///
/// - The admin token is the admin, whatever certificate carries it; so is the dashboard's session
///   cookie (`DashboardSession`), for `GET`/`HEAD` requests without a token.
/// - A site token names its site while it works (`SiteCredential.isValid`: a rotated token
///   until its grace period ends; none after a revocation).
/// - A verified certificate whose fingerprint or `CN=` subject is registered names that site.
///   Nothing the client sends can name another site: a token of site B over site A's
///   certificate is refused (403).
/// - Tokens are compared by their sha256 (the core never stores one); nothing is cached, so a
///   revocation holds on every node from the next request on.
public struct Authenticator: Sendable {
    public enum Principal: Sendable, Equatable {
        case site(String)
        case admin
    }

    let catalog: any Catalog
    let adminTokenSHA256: String
    let now: @Sendable () -> Date
    let session: DashboardSession

    public init(catalog: any Catalog, adminToken: String, now: @escaping @Sendable () -> Date = { Date() }) {
        self.catalog = catalog
        self.adminTokenSHA256 = StreamingDigest.sha256Hex(Array(adminToken.utf8))
        self.now = now
        self.session = DashboardSession(adminToken: adminToken)
    }

    public func principal(_ request: Request, _ context: CoreRequestContext) async throws -> Principal {
        let bearer = try Self.bearer(request)
        // The dashboard's session cookie stands for the admin token on reads only.
        if bearer == nil, request.method == .get || request.method == .head, let cookie = DashboardSession.cookie(request),
            session.isValid(cookie, now: now())
        {
            return .admin
        }
        return try await principal(bearer: bearer, peer: await context.peerIdentity())
    }

    /// The rules above, apart from the transport (unit tests call this).
    public func principal(bearer token: String?, peer: PeerIdentity?) async throws -> Principal {
        let certificateSite = try await site(of: peer)
        guard let token else {
            if let certificateSite { return .site(certificateSite) }
            throw CoreError(.unauthorized, "missing Authorization: Bearer token")
        }
        if isAdmin(token: token) { return .admin }
        guard let site = try await catalog.site(forTokenSHA256: StreamingDigest.sha256Hex(Array(token.utf8)), at: now()) else {
            throw CoreError(.unauthorized, "unknown token")
        }
        if let certificateSite, certificateSite != site {
            throw CoreError(.forbidden, "the client certificate belongs to another site than the token")
        }
        return .site(site)
    }

    /// The site a verified certificate is registered to (fingerprint first, then subject).
    func site(of peer: PeerIdentity?) async throws -> String? {
        guard let peer else { return nil }
        let at = now()
        if let c = try await catalog.credential(kind: .certFingerprint, value: peer.fingerprint), c.isValid(at: at) { return c.site }
        if let subject = peer.subject, let c = try await catalog.credential(kind: .certSubject, value: subject), c.isValid(at: at) {
            return c.site
        }
        return nil
    }

    /// The token of `Authorization: Bearer <token>`; nil without the header.
    static func bearer(_ request: Request) throws -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw CoreError(.unauthorized, "Authorization must be 'Bearer <token>'")
        }
        return String(parts[1])
    }

    public func isAdmin(token: String) -> Bool {
        Self.constantTimeEquals(StreamingDigest.sha256Hex(Array(token.utf8)), adminTokenSHA256)
    }

    public func site(_ request: Request, _ context: CoreRequestContext) async throws -> String {
        switch try await principal(request, context) {
        case .site(let s): return s
        case .admin: throw CoreError(.forbidden, "the admin token cannot upload; use a site token")
        }
    }

    public func requireAdmin(_ request: Request, _ context: CoreRequestContext) async throws {
        guard try await principal(request, context) == .admin else { throw CoreError(.forbidden, "this endpoint needs the admin token") }
    }

    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    /// A new random site token: `trb_` + 48 hex digits (192 bits).
    public static func newToken() -> String { "trb_" + Hex.encode(secureRandomBytes(24)) }
}
