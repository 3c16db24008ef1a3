#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import TributaryProtocol

/// Dashboard sessions: the login form posts the admin token once (`POST /v1/session`) and gets a
/// cookie instead, so no token is ever in an address, a proxy log or the page's storage.
///
/// The cookie is `v1.<expiry, unix seconds>.<16 random bytes, hex>.<HMAC-SHA256, hex>`, the MAC
/// keyed by a hash of the admin token. It is stateless: every node that shares the admin token
/// accepts it, and changing the admin token ends every session. It is `HttpOnly`,
/// `SameSite=Strict`, `Path=/`, `Secure` when the core serves TLS (or the request came through a
/// proxy that says `X-Forwarded-Proto: https`), and expires after `lifetimeSeconds` (12 h).
/// Logging out (`DELETE /v1/session`) clears it in the browser; a copy taken before stays valid
/// until its expiry. It grants the admin's read-only requests (`GET`/`HEAD`) only: changes still
/// need the admin token itself.
struct DashboardSession: Sendable {
    static let cookieName = "tributary_session"
    let key: [UInt8]
    let lifetimeSeconds: Int

    init(adminToken: String, lifetimeSeconds: Int = 12 * 3600) {
        let d = StreamingDigest(.sha256)
        d.update(Array(("tributary dashboard session\n" + adminToken).utf8))
        key = d.finalize()
        self.lifetimeSeconds = lifetimeSeconds
    }

    func issue(now: Date) -> String {
        let body = "v1.\(Int(now.timeIntervalSince1970) + lifetimeSeconds).\(Hex.encode(secureRandomBytes(16)))"
        return body + "." + Hex.encode(Self.hmacSHA256(key: key, message: Array(body.utf8)))
    }

    func isValid(_ value: String, now: Date) -> Bool {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v1", let expiry = Int(parts[1]), Int(now.timeIntervalSince1970) < expiry else { return false }
        let body = parts[0..<3].joined(separator: ".")
        return Authenticator.constantTimeEquals(String(parts[3]), Hex.encode(Self.hmacSHA256(key: key, message: Array(body.utf8))))
    }

    /// The session cookie of a request, if any.
    static func cookie(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let kv = pair.drop(while: { $0 == " " }).split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == cookieName { return String(kv[1]) }
            }
        }
        return nil
    }

    func setCookie(_ value: String, secure: Bool) -> String {
        "\(Self.cookieName)=\(value); Path=/; Max-Age=\(lifetimeSeconds); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    static func clearCookie(secure: Bool) -> String {
        "\(cookieName)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// HMAC-SHA256 (RFC 2104) over the project's SHA-256.
    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var k = key
        if k.count > 64 {
            let d = StreamingDigest(.sha256)
            d.update(k)
            k = d.finalize()
        }
        k += [UInt8](repeating: 0, count: 64 - k.count)
        let inner = StreamingDigest(.sha256)
        inner.update(k.map { $0 ^ 0x36 })
        inner.update(message)
        let outer = StreamingDigest(.sha256)
        outer.update(k.map { $0 ^ 0x5c })
        outer.update(inner.finalize())
        return outer.finalize()
    }
}
