import HTTPTypes
import Logging
import Hummingbird
import TributaryProtocol
import TributarySQLite

/// An error as answered over HTTP: status, stable code, message, headers. Built only by
/// `CoreError.from(_:)` and `init(_:_:headers:)`, both of which take the status from
/// `ErrorMapping` — no other code chooses a status for an error.
public struct CoreError: HTTPResponseError, Sendable, CustomStringConvertible {
    public private(set) var status: HTTPResponse.Status
    public private(set) var code: String
    public var message: String
    public var headers: HTTPFields

    private init(status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    /// An answer with `code`'s status and headers (`ErrorMapping`), plus `headers`.
    init(_ code: TributaryError.Code, _ message: String, headers: HTTPFields = [:]) {
        var h = ErrorMapping.headers(code)
        for f in headers { h[f.name] = f.value }
        self.init(status: ErrorMapping.status(code), code: code.rawValue, message: message, headers: h)
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// A PATCH chunk whose digest does not match `Upload-Checksum`.
    static func chunkChecksumMismatch(_ message: String) -> CoreError {
        CoreError(status: ErrorMapping.chunkChecksumStatus, code: TributaryError.Code.checksumMismatch.rawValue, message: message, headers: [:])
    }

    /// Maps any error to what the client is told.
    public static func from(_ error: any Error) -> CoreError {
        switch error {
        case let e as CoreError:
            return e
        case let e as DomainError:
            return CoreError(e.code, e.message)
        case let e as TributaryError where e.code == .io:
            // The detail (paths, endpoints) is logged by the caller, not told to the client.
            return CoreError(.unavailable, "storage is unavailable; retry later")
        case let e as TributaryError:
            return CoreError(e.code, e.message)
        case let e as SiteExistsError:
            return CoreError(.siteExists, "site '\(Names.printable(e.site))' is already registered")
        case let e as CredentialExistsError:
            return CoreError(.credentialExists, "this \(e.kind.rawValue) is already registered to a site")
        case let e as UnknownSiteError:
            return CoreError(.notFound, "no site '\(Names.printable(e.site))'")
        case let e as HTTPError:
            let code: String
            switch e.status {
            case .notFound: code = "not_found"
            case .contentTooLarge: code = "too_large"
            case .methodNotAllowed: code = "method_not_allowed"
            default: code = e.status.code >= 500 ? "internal" : "bad_request"
            }
            return CoreError(status: e.status, code: code, message: e.body ?? e.status.reasonPhrase, headers: e.headers)
        case let e as LimitRefusal:
            var h: HTTPFields = [:]
            if let s = e.retryAfter { h[.retryAfter] = String(s) }
            return CoreError(status: ErrorMapping.status(e), code: e.kind.rawValue, message: e.message, headers: h)
        case is SQLiteError:
            return CoreError(.unavailable, "the catalog is unavailable; retry later")
        default:
            return CoreError(.internal, "internal error")
        }
    }

    /// Whether a commit that failed with this error must discard the upload (validation) rather
    /// than keep it staged for a retry (transient).
    static func isValidationFailure(_ error: any Error) -> Bool {
        guard let e = error as? TributaryError else { return false }
        return e.code != .io
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response { response() }

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
