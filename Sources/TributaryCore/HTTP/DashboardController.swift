#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import Hummingbird

/// `GET /`: the dashboard page. The page itself holds no data and needs no credential; the data it
/// shows comes from `GET /v1/sites`, which needs the admin token or a session cookie that
/// `POST /v1/session` gives for it (`DashboardSession`). `DELETE /v1/session` logs out.
struct DashboardController: Sendable {
    let auth: Authenticator
    /// Whether this core serves TLS itself (the cookie is then `Secure`).
    let tls: Bool

    func addRoutes(to router: Router<CoreRequestContext>) {
        let page = ByteBuffer(string: Dashboard.html)
        router.get("/") { _, _ in
            Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                    HTTPField.Name("Content-Security-Policy")!: Dashboard.contentSecurityPolicy,
                    HTTPField.Name("X-Content-Type-Options")!: "nosniff",
                    HTTPField.Name("Referrer-Policy")!: "no-referrer",
                ],
                body: ResponseBody(byteBuffer: page))
        }
        router.post("/v1/session") { req, _ in
            // Errors are answered by JSONErrorMiddleware, as on every route.
            var request = req
            let body = String(buffer: try await request.collectBody(upTo: 4096))
            let token = Self.formValue(body, "token") ?? ""
            guard auth.isAdmin(token: token) else { throw CoreError(.unauthorized, "the admin token is needed to log in") }
            let cookie = auth.session.setCookie(auth.session.issue(now: auth.now()), secure: secure(req))
            return Response(status: .noContent, headers: [.setCookie: cookie, .cacheControl: "no-store"])
        }
        router.delete("/v1/session") { req, _ in
            Response(status: .noContent, headers: [.setCookie: DashboardSession.clearCookie(secure: secure(req)), .cacheControl: "no-store"])
        }
    }

    func secure(_ req: Request) -> Bool {
        tls || req.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    /// One field of an `application/x-www-form-urlencoded` body.
    static func formValue(_ body: String, _ name: String) -> String? {
        for pair in body.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0] == name else { continue }
            return try? PostgresURL.percentDecode(Substring(String(kv[1].map { $0 == "+" ? " " : $0 })))
        }
        return nil
    }
}
