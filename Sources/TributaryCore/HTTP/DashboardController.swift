import HTTPTypes
import Hummingbird

/// `GET /`: the dashboard page. The page itself holds no data and needs no token; the data it
/// shows comes from `GET /v1/sites`, which needs the admin token.
struct DashboardController: Sendable {
    func addRoutes(to router: Router<BasicRequestContext>) {
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
    }
}
