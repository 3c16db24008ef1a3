import HTTPTypes
import Logging
import Hummingbird
import TributaryProtocol
import TributarySQLite

/// An error answered over HTTP: status, stable code, message. Every error the core answers goes
/// through `CoreError.from(_:)` — the one place that maps errors to statuses.
public struct CoreError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    static let checksumMismatchStatus = HTTPResponse.Status(code: WireProtocol.checksumMismatchStatus, reasonPhrase: "Checksum Mismatch")

    static func badRequest(_ code: String, _ message: String) -> CoreError { CoreError(.badRequest, code, message) }
    static func notFound(_ id: String) -> CoreError { CoreError(.notFound, "not_found", "no upload \(Names.printable(id))") }
    static func forbidden(_ message: String) -> CoreError { CoreError(.forbidden, "forbidden", message) }
    static func conflict(_ code: String, _ message: String) -> CoreError { CoreError(.conflict, code, message) }
    static func unauthorized(_ message: String) -> CoreError {
        CoreError(.unauthorized, "unauthorized", message, headers: [.wwwAuthenticate: "Bearer realm=\"tributary\""])
    }
    static func unavailable(_ message: String, retryAfter: Int = 5) -> CoreError {
        CoreError(.serviceUnavailable, "unavailable", message, headers: [HTTPField.Name("Retry-After")!: String(retryAfter)])
    }

    /// Maps any error to what the client is told.
    public static func from(_ error: any Error) -> CoreError {
        switch error {
        case let e as CoreError:
            return e
        case let e as TributaryError:
            switch e.code {
            case .invalidName, .invalidStream, .invalidMetadata, .invalidTimestamp, .unsupportedKind, .unsupportedEncoding:
                return CoreError(.badRequest, e.code.rawValue, e.message)
            case .tooLarge:
                return CoreError(.contentTooLarge, e.code.rawValue, e.message)
            case .io:
                // The detail (paths, endpoints) is logged by the caller, not told to the client.
                return unavailable("storage is unavailable; retry later")
            default:
                return CoreError(.unprocessableContent, e.code.rawValue, e.message)
            }
        case let e as HTTPError:
            let code: String
            switch e.status {
            case .notFound: code = "not_found"
            case .contentTooLarge: code = "too_large"
            case .methodNotAllowed: code = "method_not_allowed"
            default: code = e.status.code >= 500 ? "internal" : "bad_request"
            }
            return CoreError(e.status, code, e.body ?? e.status.reasonPhrase, headers: e.headers)
        case let e as LimitRefusal:
            let status: HTTPResponse.Status
            switch e.kind {
            case .metadataTooLarge: status = .badRequest
            case .tooSlow: status = .requestTimeout
            case .stagedQuota where e.retryAfter == nil: status = .contentTooLarge
            default: status = .tooManyRequests
            }
            var h: HTTPFields = [:]
            if let s = e.retryAfter { h[.retryAfter] = String(s) }
            return CoreError(status, e.kind.rawValue, e.message, headers: h)
        case is SQLiteError:
            return unavailable("the catalog is unavailable; retry later")
        default:
            return CoreError(.internalServerError, "internal", "internal error")
        }
    }

    /// Whether a commit that failed with this error must discard the upload (validation) rather
    /// than keep it staged for a retry (transient).
    static func isValidationFailure(_ error: any Error) -> Bool {
        guard let e = error as? TributaryError else { return false }
        return e.code != .io
    }

    func response() -> Response {
        var h = headers
        h[.contentType] = "application/json"
        h[TusHeader.tusResumable] = WireProtocol.tusVersion
        let body = (try? JSON.encode(ErrorBody(error: code, message: message))) ?? []
        return Response(status: status, headers: h, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body + [0x0a])))
    }
}

/// Turns every error that escapes a handler, the router's own "no such route" included, into the
/// documented JSON error body.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let e = CoreError.from(error)
            if e.status.code >= 500 {
                logger.error("request failed", metadata: ["http.path": "\(request.uri.path)", "error": "\(error)"])
            }
            return e.response()
        }
    }
}

/// Header names of the tus protocol and Tributary's own.
enum TusHeader {
    static let tusResumable = HTTPField.Name("Tus-Resumable")!
    static let tusVersion = HTTPField.Name("Tus-Version")!
    static let tusExtension = HTTPField.Name("Tus-Extension")!
    static let tusMaxSize = HTTPField.Name("Tus-Max-Size")!
    static let tusChecksumAlgorithm = HTTPField.Name("Tus-Checksum-Algorithm")!
    static let uploadOffset = HTTPField.Name("Upload-Offset")!
    static let uploadLength = HTTPField.Name("Upload-Length")!
    static let uploadDeferLength = HTTPField.Name("Upload-Defer-Length")!
    static let uploadMetadata = HTTPField.Name("Upload-Metadata")!
    static let uploadChecksum = HTTPField.Name("Upload-Checksum")!
    static let uploadExpires = HTTPField.Name("Upload-Expires")!
    static let uploadState = HTTPField.Name("Tributary-Upload-State")!
    static let receipt = HTTPField.Name(WireProtocol.receiptHeader)!
    /// The error code of a HEAD answered with an error (HEAD answers carry no body).
    static let errorCode = HTTPField.Name("Tributary-Error")!
}
