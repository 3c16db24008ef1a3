import Hummingbird
import TributaryProtocol

/// Decides who is calling from `Authorization: Bearer <token>`. Tokens are compared by their
/// sha256: the core never stores a site token itself.
public struct Authenticator: Sendable {
    public enum Principal: Sendable, Equatable {
        case site(String)
        case admin
    }

    let catalog: any Catalog
    let adminTokenSHA256: String

    public init(catalog: any Catalog, adminToken: String) {
        self.catalog = catalog
        self.adminTokenSHA256 = StreamingDigest.sha256Hex(Array(adminToken.utf8))
    }

    public func principal(_ request: Request) async throws -> Principal {
        guard let header = request.headers[.authorization] else { throw CoreError.unauthorized("missing Authorization: Bearer token") }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw CoreError.unauthorized("Authorization must be 'Bearer <token>'")
        }
        let hash = StreamingDigest.sha256Hex(Array(parts[1].utf8))
        if Self.constantTimeEquals(hash, adminTokenSHA256) { return .admin }
        if let site = try await catalog.site(forTokenSHA256: hash) { return .site(site) }
        throw CoreError.unauthorized("unknown token")
    }

    public func site(_ request: Request) async throws -> String {
        switch try await principal(request) {
        case .site(let s): return s
        case .admin: throw CoreError.forbidden("the admin token cannot upload; use a site token")
        }
    }

    public func requireAdmin(_ request: Request) async throws {
        guard try await principal(request) == .admin else { throw CoreError.forbidden("this endpoint needs the admin token") }
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
