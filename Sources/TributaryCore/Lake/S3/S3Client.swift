#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization
import TributaryCurl
import TributaryProtocol

/// Signed requests to one bucket of an S3-compatible store, over libcurl (`TributaryCurl`).
///
/// - Signing: AWS SigV4 by libcurl (`CURLOPT_AWS_SIGV4`, "aws:amz:REGION:s3"). Bodies are sent
///   as `UNSIGNED-PAYLOAD`; their integrity is checked by the store against the
///   `x-amz-checksum-sha256` header each body-carrying request sets (see `S3Lake`).
/// - URLs: path-style `ENDPOINT/BUCKET/KEY` or virtual-hosted `BUCKET.HOST/KEY`; keys are
///   percent-encoded per path segment and query parameters sorted, so the URL is already the
///   canonical request SigV4 signs.
/// - Blocking transfers run on their own threads (`BlockingThread`); easy handles are pooled so
///   connections are reused.
/// - Any failure below HTTP, and any unexpected status, is `TributaryError(.io)`.
final class S3Client: Sendable {
    let settings: S3Settings
    let location: S3Location
    private let pool = Mutex<[CurlSession]>([])

    init(settings: S3Settings, location: S3Location) throws {
        guard let key = settings.accessKeyID, !key.isEmpty, let secret = settings.secretAccessKey, !secret.isEmpty else {
            throw ConfigurationError(
                "lake \(location): S3 credentials are missing (set s3_access_key_id/s3_secret_access_key, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
        }
        if let e = settings.endpoint, !(e.hasPrefix("http://") || e.hasPrefix("https://")) {
            throw ConfigurationError("s3_endpoint '\(e)' must start with http:// or https://")
        }
        self.settings = settings
        self.location = location
    }

    /// The URL of `objectKey` (nil: the bucket itself) with `query` (sorted, encoded).
    func url(_ objectKey: String?, query: [(String, String)] = []) -> String {
        let base: String
        if let endpoint = settings.endpoint {
            if settings.usesPathStyle {
                base = endpoint + "/" + location.bucket
            } else {
                let scheme = endpoint.hasPrefix("https://") ? "https://" : "http://"
                base = scheme + location.bucket + "." + endpoint.dropFirst(scheme.count)
            }
        } else if settings.usesPathStyle {
            base = "https://s3.\(settings.region).amazonaws.com/" + location.bucket
        } else {
            base = "https://\(location.bucket).s3.\(settings.region).amazonaws.com"
        }
        // The bucket itself: "/BUCKET" path-style, "/" virtual-hosted.
        var u = objectKey.map { base + "/" + Self.encode($0, keepSlash: true) } ?? (settings.usesPathStyle ? base : base + "/")
        if !query.isEmpty {
            u += "?" + PercentEncoding.query(query)
        }
        return u
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters (and `/` in paths).
    static func encode(_ s: String, keepSlash: Bool) -> String { PercentEncoding.encode(s, keepSlash: keepSlash) }

    /// Sends one request. One carrying a body of 1 MiB or more is bounded by libcurl's low-speed
    /// limit (under 1 KiB/s for 15 s) rather than the overall `requestTimeoutSeconds`.
    func send(
        _ method: String, _ objectKey: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: HTTPRequest.Body = .none, responseLimit: Int = 4 << 20
    ) async throws -> HTTPResponse {
        var h = headers.map { (name: $0.0, value: $0.1) }
        if let token = settings.sessionToken { h.append((name: "x-amz-security-token", value: token)) }
        let request = HTTPRequest(method: method, url: url(objectKey, query: query), headers: h, body: body)
        var options = TransferOptions()
        options.connectTimeout = min(settings.requestTimeoutSeconds, 10)
        options.awsSigV4 = "aws:amz:\(settings.region):s3"
        options.userPassword = "\(settings.accessKeyID ?? ""):\(settings.secretAccessKey ?? "")"
        options.caFile = settings.caFile
        options.maxResponseBytes = responseLimit
        if request.bodyLength < (1 << 20) { options.totalTimeout = settings.requestTimeoutSeconds }
        let session = pool.withLock { $0.popLast() } ?? CurlSession()
        let what = "\(method) \(location.bucket)/\(objectKey ?? "")"
        let opts = options
        do {
            let response = try await BlockingThread.run { () throws -> HTTPResponse in try session.perform(request, options: opts) }
            pool.withLock { if $0.count < 32 { $0.append(session) } }
            return response
        } catch let e as TransferError {
            throw TributaryError(.io, "lake unavailable: \(what): \(e)")
        }
    }

    /// The error an unexpected answer becomes.
    static func failure(_ r: HTTPResponse, _ what: String) -> TributaryError {
        let code = xmlValue(r.body, "Code") ?? ""
        let message = xmlValue(r.body, "Message") ?? ""
        var text = "lake: \(what) answered \(r.status)"
        if !code.isEmpty { text += " \(code)" }
        if !message.isEmpty { text += ": \(message)" }
        return TributaryError(.io, text)
    }

    /// The text of the first `<tag>` of an XML body (S3's answers are small and flat).
    static func xmlValue(_ body: [UInt8], _ tag: String) -> String? {
        let text = String(decoding: body, as: UTF8.self)
        guard let open = text.firstRange(of: "<\(tag)>"), let close = text[open.upperBound...].firstRange(of: "</\(tag)>") else { return nil }
        return xmlUnescape(String(text[open.upperBound..<close.lowerBound]))
    }

    static func xmlUnescape(_ s: String) -> String {
        s.replacingOccurrences("&quot;", with: "\"").replacingOccurrences("&#34;", with: "\"").replacingOccurrences("&apos;", with: "'")
            .replacingOccurrences("&lt;", with: "<").replacingOccurrences("&gt;", with: ">").replacingOccurrences("&amp;", with: "&")
    }

    static func xmlEscape(_ s: String) -> String {
        s.replacingOccurrences("&", with: "&amp;").replacingOccurrences("<", with: "&lt;").replacingOccurrences(">", with: "&gt;")
            .replacingOccurrences("\"", with: "&quot;")
    }
}
