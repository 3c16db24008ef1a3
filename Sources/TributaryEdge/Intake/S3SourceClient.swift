#if canImport(Glibc)
import Glibc
#endif
import TributaryCurl
import TributaryFiles
import TributaryProtocol

/// A failed request to a bucket source: below HTTP, an unexpected status, or an answer that does
/// not parse.
public struct S3SourceError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Signed requests (libcurl's SigV4) to the bucket of one `[[source]]`, one connection reused
/// between them. Blocking: the caller runs each on its own thread (`BlockingThread`). Not for
/// concurrent use.
final class S3SourceClient: @unchecked Sendable {
    let settings: S3SourceSettings
    private let session = CurlSession()
    private let options: TransferOptions

    init(settings: S3SourceSettings, stallSeconds: Int, connectTimeout: Double) {
        self.settings = settings
        var o = TransferOptions()
        o.connectTimeout = connectTimeout
        o.lowSpeedLimit = 1024
        o.lowSpeedTime = stallSeconds
        o.awsSigV4 = "aws:amz:\(settings.region):s3"
        o.userPassword = "\(settings.accessKeyID):\(settings.secretAccessKey)"
        o.caFile = settings.caFile
        o.maxResponseBytes = S3ListingParser.Limits().maxBodyBytes
        options = o
    }

    func url(_ key: String?, query: [(String, String)] = []) -> String {
        let base: String
        if settings.pathStyle {
            base = settings.endpoint + "/" + settings.bucket
        } else {
            let scheme = settings.endpoint.hasPrefix("https://") ? "https://" : "http://"
            base = scheme + settings.bucket + "." + settings.endpoint.dropFirst(scheme.count)
        }
        var u = key.map { base + "/" + PercentEncoding.encode($0, keepSlash: true) } ?? (settings.pathStyle ? base : base + "/")
        if !query.isEmpty { u += "?" + PercentEncoding.query(query) }
        return u
    }

    private func perform(_ request: HTTPRequest, options: TransferOptions? = nil, sink: ((UnsafeRawBufferPointer) -> Bool)? = nil) throws
        -> HTTPResponse
    {
        do {
            return try session.perform(request, options: options ?? self.options, sink: sink)
        } catch {
            throw S3SourceError(message: "\(request.method) \(settings.bucket): \(error)")
        }
    }

    private func failure(_ r: HTTPResponse, _ what: String) -> S3SourceError {
        var text = "\(what) answered \(r.status)"
        let body = String(decoding: r.body.prefix(4096), as: UTF8.self)
        if let open = body.firstRange(of: "<Code>"), let close = body[open.upperBound...].firstRange(of: "</Code>") {
            text += " " + Names.printable(String(body[open.upperBound..<close.lowerBound].prefix(64)))
        }
        return S3SourceError(message: text)
    }

    /// One page of ListObjectsV2 under the source's prefix.
    func list(prefix: String, continuation: String?) throws -> S3ListPage {
        var q = [("list-type", "2"), ("max-keys", "1000")]
        if !prefix.isEmpty { q.append(("prefix", prefix)) }
        if let c = continuation { q.append(("continuation-token", c)) }
        var o = options
        o.totalTimeout = 120
        let r = try perform(HTTPRequest(method: "GET", url: url(nil, query: q)), options: o)
        guard r.status == 200 else { throw failure(r, "listing \(settings.bucket)") }
        guard r.body.count < o.maxResponseBytes else { throw S3SourceError(message: "listing \(settings.bucket): answer larger than \(o.maxResponseBytes) bytes") }
        do { return try S3ListingParser.parse(r.body) } catch { throw S3SourceError(message: "listing \(settings.bucket): \(error)") }
    }

    /// The current version of `key`, nil when it does not exist.
    func head(_ key: String) throws -> (etag: String, size: UInt64)? {
        let r = try perform(HTTPRequest(method: "HEAD", url: url(key)))
        if r.status == 404 { return nil }
        guard r.status == 200, let etag = r.header("etag").map(Self.unquote), let size = r.header("content-length").flatMap({ UInt64($0) }) else {
            throw failure(r, "HEAD \(Names.printable(key))")
        }
        return (etag, size)
    }

    /// Writes the object's bytes to `fd` (at most `limit`); nil when it no longer exists.
    func get(_ key: String, into fd: Int32, path: String, limit: UInt64) throws -> (etag: String, size: UInt64)? {
        let written = WriteState()
        let r = try perform(HTTPRequest(method: "GET", url: url(key))) { chunk in
            guard written.error == nil else { return false }
            let (sum, overflow) = written.bytes.addingReportingOverflow(UInt64(chunk.count))
            guard !overflow, sum <= limit else {
                written.error = "larger than \(limit) bytes"
                return false
            }
            do { try FileIO.writeAll(fd, chunk, path) } catch {
                written.error = "\(error)"
                return false
            }
            written.bytes = sum
            return true
        }
        if let e = written.error { throw S3SourceError(message: "GET \(Names.printable(key)): \(e)") }
        if r.status == 404 { return nil }
        guard r.status == 200, let etag = r.header("etag").map(Self.unquote) else { throw failure(r, "GET \(Names.printable(key))") }
        if let length = r.header("content-length").flatMap({ UInt64($0) }), length != written.bytes {
            throw S3SourceError(message: "GET \(Names.printable(key)): \(written.bytes) of \(length) bytes arrived")
        }
        return (etag, written.bytes)
    }

    func delete(_ key: String) throws {
        let r = try perform(HTTPRequest(method: "DELETE", url: url(key)))
        guard r.status == 204 || r.status == 200 || r.status == 404 else { throw failure(r, "DELETE \(Names.printable(key))") }
    }

    static func unquote(_ s: String) -> String {
        s.count >= 2 && s.hasPrefix("\"") && s.hasSuffix("\"") ? String(s.dropFirst().dropLast()) : s
    }

    /// Filled by libcurl's write callback on the transfer's thread, read after it returns.
    private final class WriteState {
        var bytes: UInt64 = 0
        var error: String?
    }
}
