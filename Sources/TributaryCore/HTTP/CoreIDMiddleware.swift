import HTTPTypes
import Hummingbird

/// States this core's id on every answer (`Tributary-Core-Id`), so a forwarding core learns the
/// id of its upstream from its first exchange and never sends it an upload whose path already
/// holds it (Forward/CorePath.swift).
struct CoreIDMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("Tributary-Core-Id")! }
    let coreID: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[Self.header] = coreID
        return response
    }
}
