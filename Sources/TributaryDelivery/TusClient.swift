#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization
import TributaryCurl
import TributaryProtocol

/// The core's answer that was not a success, or a transfer that failed below HTTP.
public struct UploadError: Error, Sendable, CustomStringConvertible {
    /// The core's code for an upload it set aside for good (its commit crashed the core or kept
    /// failing): the batch must not be sent again as it is.
    public static let quarantinedCode = "quarantined"

    public enum Kind: Sendable, Equatable {
        /// Network, timeout, 5xx, busy: try again later (after backoff).
        case transient
        /// The core refused this upload's content (4xx at creation, 413, 422): do not resend as is.
        case rejected
        /// The token was refused (401/403): nothing will work until the configuration is fixed.
        case unauthorized
        /// The upload is gone at the core (404/410): create it again.
        case gone
        /// The chunk failed its checksum on the way (460): resend it.
        case corrupted
        /// Our offset differs from the core's (409): ask it (HEAD).
        case offsetMismatch
    }

    public var kind: Kind
    public var status: Int?
    public var code: String?
    public var message: String
    public var retryAfter: Double?
    /// Request-body bytes that left this host before the failure.
    public var bytesSent: UInt64 = 0

    public init(kind: Kind, status: Int?, code: String?, message: String, retryAfter: Double? = nil, bytesSent: UInt64 = 0) {
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.bytesSent = bytesSent
    }

    public var description: String {
        if let status { return "HTTP \(status)\(code.map { " \($0)" } ?? ""): \(message)" }
        return message
    }
}

/// The state of an upload at the core (HEAD).
public struct RemoteUpload: Sendable, Equatable {
    public enum State: String, Sendable { case receiving, complete, committed }
    public var offset: UInt64
    public var length: UInt64
    public var state: State
}

/// A tus 1.0 client for the core, over one libcurl session (connection reused). Blocking: call
/// it from a `BlockingThread`.
public final class TusClient: @unchecked Sendable {
    public let baseURL: String
    let token: SiteToken
    let session = CurlSession()
    var options: TransferOptions

    public convenience init(baseURL: String, token: String, options: TransferOptions) {
        self.init(baseURL: baseURL, token: SiteToken(token), options: options)
    }

    public init(baseURL: String, token: SiteToken, options: TransferOptions) {
        self.baseURL = baseURL
        self.token = token
        self.options = options
    }

    /// Aborts the transfer in flight (from any thread), and every later one: the client is done.
    public func cancel() { session.cancel() }

    private func headers(_ extra: [(name: String, value: String)] = []) -> [(name: String, value: String)] {
        // No token: a site known to the core by its client certificate only (mutual TLS).
        let token = self.token.current
        return (token.isEmpty ? [] : [("Authorization", "Bearer \(token)")]) + [("Tus-Resumable", WireProtocol.tusVersion)] + extra
    }

    private func url(_ pathOrURL: String) -> String {
        pathOrURL.hasPrefix("http://") || pathOrURL.hasPrefix("https://") ? pathOrURL : baseURL + pathOrURL
    }

    private func perform(_ request: HTTPRequest, options: TransferOptions? = nil, progress: ((TransferProgress) -> Void)? = nil) throws(UploadError) -> HTTPResponse {
        do {
            return try session.perform(request, options: options ?? self.options, progress: progress)
        } catch {
            throw UploadError(kind: .transient, status: nil, code: nil, message: error.description, bytesSent: error.bytesSent)
        }
    }

    /// Maps an answer to a request that carries no content decision (HEAD, GET, have-check): a
    /// 4xx other than auth/gone means the request was damaged on the way — try again.
    static func readFailure(_ r: HTTPResponse) -> UploadError {
        var e = failure(r)
        // The core's word that it set the upload aside for good stands (docs/PROTOCOL.md).
        if e.kind == .rejected && e.code != UploadError.quarantinedCode { e.kind = .transient }
        return e
    }

    /// Maps a non-2xx answer to an `UploadError`.
    static func failure(_ r: HTTPResponse) -> UploadError {
        let body = try? JSONDecoder().decode(ErrorBody.self, from: Data(r.body))
        let message = body?.message ?? String(decoding: r.body.prefix(300), as: UTF8.self)
        let retryAfter = r.header("retry-after").flatMap(Double.init)
        let kind: UploadError.Kind
        switch r.status {
        case 401, 403: kind = .unauthorized
        case 404, 410: kind = .gone
        case WireProtocol.checksumMismatchStatus: kind = .corrupted
        case 409 where body?.error == "offset_mismatch": kind = .offsetMismatch
        case 400, 413, 415, 422: kind = .rejected
        default: kind = .transient  // 409 upload_busy, 412, 429, 5xx, anything unexpected
        }
        // A HEAD answer has no body: its error code comes in `Tributary-Error`.
        let code = body?.error ?? r.header("tributary-error")
        return UploadError(kind: kind, status: r.status, code: code, message: message, retryAfter: retryAfter)
    }

    /// Creates an upload; returns its URL (absolute) and whether the core committed it already
    /// (a zero-length object).
    public func create(length: UInt64, metadata: UploadMetadata) throws(UploadError) -> (url: String, committed: Bool) {
        let r = try perform(HTTPRequest(
            method: "POST", url: url(WireProtocol.uploadsPath),
            headers: headers([("Upload-Length", String(length)), ("Upload-Metadata", metadata.headerValue)])))
        guard r.status == 201, let location = r.header("location") else { throw Self.failure(r) }
        // The token goes to the configured core only: a Location on another origin is not followed.
        guard let origin = CoreOrigin(baseURL), let resolved = origin.resolve(location, base: baseURL) else {
            throw UploadError(kind: .transient, status: r.status, code: "cross_origin_location",
                              message: "the core answered with a Location on another scheme, host or port (\(location)); not followed")
        }
        return (resolved, r.header("tributary-upload-state") == "committed")
    }

    public func head(_ uploadURL: String) throws(UploadError) -> RemoteUpload {
        let r = try perform(HTTPRequest(method: "HEAD", url: uploadURL, headers: headers()))
        guard r.status == 200 else {
            // HEAD answers carry no body: rebuild what the status says.
            var e = Self.readFailure(r)
            if e.message.isEmpty { e.message = "HEAD \(uploadURL) answered \(r.status)" }
            throw e
        }
        guard let offset = r.header("upload-offset").flatMap(UInt64.init), let length = r.header("upload-length").flatMap(UInt64.init) else {
            throw UploadError(kind: .transient, status: r.status, code: nil, message: "HEAD answer without Upload-Offset/Upload-Length")
        }
        let state = RemoteUpload.State(rawValue: r.header("tributary-upload-state") ?? "") ?? (offset == length ? .complete : .receiving)
        return RemoteUpload(offset: offset, length: length, state: state)
    }

    /// Sends `length` bytes of `fd` from `offset` with their sha256 in `Upload-Checksum`.
    /// Returns the new offset and whether the core committed the upload.
    /// With `askReceipt` (the PATCH that completes the upload) the core is asked for the compact
    /// receipt in its answer (`Tributary-Receipt: compact`, docs/PROTOCOL.md): returned when it
    /// committed and sent one that parses; nil otherwise (an older core answers 204: GET it).
    public func patch(
        _ uploadURL: String, fd: Int32, offset: UInt64, length: UInt64, sha256: [UInt8], maxSendSpeed: Int64,
        askReceipt: Bool = false, progress: ((TransferProgress) -> Void)? = nil
    ) throws(UploadError) -> (offset: UInt64, committed: Bool, receipt: CompactReceipt?) {
        var o = options
        o.maxSendSpeed = maxSendSpeed
        var h = headers([
            ("Content-Type", WireProtocol.offsetOctetStream), ("Upload-Offset", String(offset)),
        ])
        if length > 0 { h.append(("Upload-Checksum", "sha256 " + Data(sha256).base64EncodedString())) }
        if askReceipt { h.append((WireProtocol.receiptHeader, ReceiptForm.compact.rawValue)) }
        let r: HTTPResponse
        do {
            r = try perform(HTTPRequest(method: "PATCH", url: uploadURL, headers: h, body: length > 0 ? .file(fd: fd, offset: offset, length: length) : .none), options: o, progress: progress)
        } catch {
            throw error
        }
        guard r.status == 204 || (askReceipt && r.status == 200), let newOffset = r.header("upload-offset").flatMap(UInt64.init) else {
            var e = Self.failure(r)
            e.bytesSent = length
            throw e
        }
        let committed = r.header("tributary-upload-state") == "committed"
        // A receipt that does not parse is not trusted: the session GETs the full one.
        let receipt = committed && r.status == 200 ? try? CompactReceipt.parse(r.body) : nil
        return (newOffset, committed, receipt)
    }

    /// The receipt of a committed upload.
    public func receipt(_ uploadURL: String) throws(UploadError) -> CommitReceipt {
        let r = try perform(HTTPRequest(method: "GET", url: uploadURL, headers: headers()))
        guard r.status == 200 else { throw Self.readFailure(r) }
        do {
            return try JSONDecoder().decode(CommitReceipt.self, from: Data(r.body))
        } catch {
            throw UploadError(kind: .transient, status: r.status, code: nil, message: "receipt is not valid JSON: \(error)")
        }
    }

    /// Sends a backlog report.
    public func heartbeat(_ report: SiteReport) throws(UploadError) {
        let body: [UInt8]
        do { body = Array(try JSONEncoder().encode(report)) } catch {
            throw UploadError(kind: .transient, status: nil, code: nil, message: "\(error)")
        }
        let r = try perform(HTTPRequest(
            method: "POST", url: url(WireProtocol.heartbeatPath), headers: headers([("Content-Type", "application/json")]), body: .bytes(body)))
        guard r.status == 204 || r.status == 200 else { throw Self.readFailure(r) }
    }

    /// Sends a zstd dictionary the core answered `unknown_dictionary` for (docs/PROTOCOL.md,
    /// "Dictionaries"). Idempotent: the core keeps it under its sha256.
    public func putDictionary(_ dictionary: ZstdDictionary) throws(UploadError) {
        let r = try perform(HTTPRequest(
            method: "PUT", url: url(WireProtocol.dictionariesPath + "/" + dictionary.id),
            headers: headers([("Content-Type", "application/octet-stream")]), body: .bytes(dictionary.bytes)))
        guard r.status == 201 || r.status == 204 || r.status == 200 else { throw Self.failure(r) }
    }

    /// Whether the core refused the binary have-check (an older core answers 400): JSON from then on.
    private let jsonHaveOnly = Mutex(false)

    /// The subset of `hashes` the core already holds for this site. Asked in the binary form
    /// (`BinaryHave`: 32 bytes a hash, a bitmap back); JSON if the core refuses that. An empty
    /// list is still asked (an empty body): the batcher builds nothing while the core cannot be reached.
    public func have(_ hashes: [String]) throws(UploadError) -> Set<String> {
        var out = Set<String>()
        var start = 0
        repeat {
            let part = Array(hashes[start..<min(hashes.count, start + WireProtocol.maxHaveCheckHashes)])
            start += part.count
            if !jsonHaveOnly.withLock({ $0 }) {
                let r = try perform(HTTPRequest(
                    method: "POST", url: url(WireProtocol.havePath), headers: headers([("Content-Type", BinaryHave.contentType)]),
                    body: .bytes(BinaryHave.encode(part))))
                if r.status == 200 {
                    do { out.formUnion(try BinaryHave.parseAnswer(r.body, hashes: part)) } catch {
                        throw UploadError(kind: .transient, status: r.status, code: nil, message: "have-check answer: \(error)")
                    }
                    continue
                }
                guard r.status == 400 || r.status == 415 else { throw Self.readFailure(r) }
                jsonHaveOnly.withLock { $0 = true }
            }
            let body: [UInt8]
            do { body = Array(try JSONEncoder().encode(HaveRequest(sha256: part))) } catch {
                throw UploadError(kind: .transient, status: nil, code: nil, message: "\(error)")
            }
            let r = try perform(HTTPRequest(
                method: "POST", url: url(WireProtocol.havePath), headers: headers([("Content-Type", "application/json")]), body: .bytes(body)))
            guard r.status == 200 else { throw Self.readFailure(r) }
            guard let answer = try? JSONDecoder().decode(HaveResponse.self, from: Data(r.body)) else {
                throw UploadError(kind: .transient, status: r.status, code: nil, message: "have-check answer is not valid JSON")
            }
            out.formUnion(answer.have)
        } while start < hashes.count
        return out
    }
}
