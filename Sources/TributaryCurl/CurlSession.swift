import CCurl
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private let curlGlobalInit: Void = {
    _ = curl_global_init(Int(CURL_GLOBAL_ALL))
}()

/// Progress of a transfer in flight, as libcurl reports it.
public struct TransferProgress: Sendable {
    public var uploaded: UInt64
    public var uploadTotal: UInt64
    public var downloaded: UInt64
}

/// One libcurl easy handle. Not thread-safe: one transfer at a time; connections are reused
/// between transfers of the same session.
public final class CurlSession: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer
    /// Set from any thread (`cancel()`) to abort the transfer in flight at its next progress
    /// callback. Sticky: a cancel that lands between two transfers aborts the next one too, until
    /// `resetCancellation()`.
    public let cancelled = Atomic<Bool>(false)

    public func cancel() { cancelled.store(true, ordering: .relaxed) }

    public func resetCancellation() { cancelled.store(false, ordering: .relaxed) }

    public init() {
        _ = curlGlobalInit
        guard let h = curl_easy_init() else { fatalError("curl_easy_init failed (out of memory)") }
        handle = h
    }

    deinit { curl_easy_cleanup(handle) }

    /// Performs one request. `sink`, if given, receives the response body as it arrives (return
    /// false to abort); otherwise the body is collected up to `options.maxResponseBytes`.
    /// `progress` is called from libcurl's progress callback (about once a second and on data).
    public func perform(
        _ request: HTTPRequest,
        options: TransferOptions = TransferOptions(),
        sink: ((UnsafeRawBufferPointer) -> Bool)? = nil,
        progress: ((TransferProgress) -> Void)? = nil
    ) throws(TransferError) -> HTTPResponse {
        if cancelled.load(ordering: .relaxed) {
            throw TransferError(code: Int(CURLE_ABORTED_BY_CALLBACK.rawValue), message: "cancelled", bytesSent: 0, aborted: true)
        }
        curl_easy_reset(handle)
        let ctx = TransferContext(request: request, options: options, sink: sink, progress: progress, session: self)
        let unmanaged = Unmanaged.passRetained(ctx)
        defer { unmanaged.release() }
        let ud = unmanaged.toOpaque()

        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        // No "Expect: 100-continue" round trip; an empty Accept-less request otherwise.
        var names = Set<String>()
        for h in request.headers {
            names.insert(h.name.lowercased())
            headerList = curl_slist_append(headerList, "\(h.name): \(h.value)")
        }
        // With SigV4 signing libcurl would sign the empty "Expect:" (which only removes the header)
        // as a header it then does not send: the store's signature check fails. Signed requests
        // keep libcurl's own Expect: 100-continue (the store refuses a bad request before the body).
        if !names.contains("expect") && options.awsSigV4 == nil { headerList = curl_slist_append(headerList, "Expect:") }
        // libcurl's default "Accept: */*" says nothing (13 bytes on every request); left out likewise.
        if !names.contains("accept") && options.awsSigV4 == nil { headerList = curl_slist_append(headerList, "Accept:") }

        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { eb in
            let h = handle
            _ = tributary_curl_setopt_string(h, CURLOPT_URL, request.url)
            _ = tributary_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, eb.baseAddress)
            _ = tributary_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
            _ = tributary_curl_setopt_long(h, CURLOPT_TCP_KEEPALIVE, 1)
            _ = tributary_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000))
            if options.lowSpeedTime > 0 {
                _ = tributary_curl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, options.lowSpeedLimit)
                _ = tributary_curl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, options.lowSpeedTime)
            }
            if options.totalTimeout > 0 {
                _ = tributary_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(options.totalTimeout * 1000))
            }
            if options.maxSendSpeed > 0 {
                _ = tributary_curl_setopt_off(h, CURLOPT_MAX_SEND_SPEED_LARGE, curl_off_t(options.maxSendSpeed))
            }
            if let ca = options.caFile { _ = tributary_curl_setopt_string(h, CURLOPT_CAINFO, ca) }
            if let cert = options.clientCertificate { _ = tributary_curl_setopt_string(h, CURLOPT_SSLCERT, cert) }
            if let key = options.clientKey { _ = tributary_curl_setopt_string(h, CURLOPT_SSLKEY, key) }
            if let sig = options.awsSigV4 { _ = tributary_curl_setopt_string(h, CURLOPT_AWS_SIGV4, sig) }
            if let up = options.userPassword { _ = tributary_curl_setopt_string(h, CURLOPT_USERPWD, up) }
            _ = tributary_curl_setopt_slist(h, CURLOPT_HTTPHEADER, headerList)

            let method = request.method.uppercased()
            switch method {
            case "GET": break
            case "HEAD": _ = tributary_curl_setopt_long(h, CURLOPT_NOBODY, 1)
            default: _ = tributary_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)
            }
            if case .none = request.body, method == "GET" || method == "HEAD" || method == "DELETE" || method == "OPTIONS" {
                // no request body
            } else {
                _ = tributary_curl_setopt_long(h, CURLOPT_UPLOAD, 1)
                _ = tributary_curl_setopt_off(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.bodyLength))
                _ = tributary_curl_setopt_data_cb(h, CURLOPT_READFUNCTION, readCallback)
                _ = tributary_curl_setopt_pointer(h, CURLOPT_READDATA, ud)
                // No seek callback on purpose: without one libcurl cannot rewind the body, so when a
                // reused connection dies mid-request it fails instead of silently re-sending the whole
                // body on a new connection. The caller decides (a tus client asks HEAD first, so a
                // dropped link costs at most the part of the chunk that was in flight).
            }
            _ = tributary_curl_setopt_data_cb(h, CURLOPT_WRITEFUNCTION, writeCallback)
            _ = tributary_curl_setopt_pointer(h, CURLOPT_WRITEDATA, ud)
            _ = tributary_curl_setopt_data_cb(h, CURLOPT_HEADERFUNCTION, headerCallback)
            _ = tributary_curl_setopt_pointer(h, CURLOPT_HEADERDATA, ud)
            _ = tributary_curl_setopt_long(h, CURLOPT_NOPROGRESS, 0)
            _ = tributary_curl_setopt_xferinfo_cb(h, xferInfoCallback)
            _ = tributary_curl_setopt_pointer(h, CURLOPT_XFERINFODATA, ud)
            return curl_easy_perform(h)
        }
        if code != CURLE_OK {
            var message = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if message.isEmpty { message = String(cString: curl_easy_strerror(code)) }
            if let readError = ctx.readError { message = readError }
            throw TransferError(
                code: Int(code.rawValue), message: message, bytesSent: ctx.bodySent,
                aborted: code == CURLE_ABORTED_BY_CALLBACK || ctx.sinkAborted)
        }
        var status = 0
        _ = tributary_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: ctx.headers, body: ctx.body)
    }
}

/// State shared with libcurl's C callbacks for one transfer.
private final class TransferContext {
    let request: HTTPRequest
    let options: TransferOptions
    let sink: ((UnsafeRawBufferPointer) -> Bool)?
    let progress: ((TransferProgress) -> Void)?
    unowned let session: CurlSession
    var bodySent: UInt64 = 0
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    var readError: String?
    var sinkAborted = false

    init(request: HTTPRequest, options: TransferOptions, sink: ((UnsafeRawBufferPointer) -> Bool)?,
         progress: ((TransferProgress) -> Void)?, session: CurlSession) {
        self.request = request
        self.options = options
        self.sink = sink
        self.progress = progress
        self.session = session
    }

    static func from(_ p: UnsafeMutableRawPointer?) -> TransferContext {
        Unmanaged<TransferContext>.fromOpaque(p!).takeUnretainedValue()
    }
}

private let readCallback: tributary_curl_data_cb = { buffer, size, nmemb, userdata in
    let ctx = TransferContext.from(userdata)
    let capacity = size * nmemb
    let remaining = ctx.request.bodyLength - ctx.bodySent
    let n = Int(min(UInt64(capacity), remaining))
    if n == 0 { return 0 }
    switch ctx.request.body {
    case .none:
        return 0
    case .bytes(let bytes):
        bytes.withUnsafeBytes { src in
            UnsafeMutableRawPointer(buffer!).copyMemory(from: src.baseAddress! + Int(ctx.bodySent), byteCount: n)
        }
        ctx.bodySent += UInt64(n)
        return n
    case .file(let fd, let offset, _):
        var got = 0
        while got < n {
            let r = pread(fd, buffer! + got, n - got, off_t(offset + ctx.bodySent + UInt64(got)))
            if r < 0 {
                if errno == EINTR { continue }
                ctx.readError = "reading the request body failed: errno \(errno)"
                return Int(CURL_READFUNC_ABORT)
            }
            if r == 0 {
                ctx.readError = "the request body file ended early (it shrank while being sent)"
                return Int(CURL_READFUNC_ABORT)
            }
            got += r
        }
        ctx.bodySent += UInt64(got)
        return got
    }
}


private let writeCallback: tributary_curl_data_cb = { ptr, size, nmemb, userdata in
    let ctx = TransferContext.from(userdata)
    let n = size * nmemb
    let buf = UnsafeRawBufferPointer(start: ptr, count: n)
    if let sink = ctx.sink {
        if !sink(buf) {
            ctx.sinkAborted = true
            return 0
        }
    } else if ctx.body.count < ctx.options.maxResponseBytes {
        ctx.body.append(contentsOf: buf.prefix(ctx.options.maxResponseBytes - ctx.body.count))
    }
    return n
}

private let headerCallback: tributary_curl_data_cb = { ptr, size, nmemb, userdata in
    let ctx = TransferContext.from(userdata)
    let n = size * nmemb
    let line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: n), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        // A new response (after a 100 Continue or a redirect): start its headers afresh.
        ctx.headers.removeAll()
        ctx.body.removeAll()
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t\r\n")
        ctx.headers.append((name: name, value: value))
    }
    return n
}

private let xferInfoCallback: tributary_curl_xferinfo_cb = { userdata, _, dlnow, ultotal, ulnow in
    let ctx = TransferContext.from(userdata)
    if ctx.session.cancelled.load(ordering: .relaxed) { return 1 }
    ctx.progress?(TransferProgress(uploaded: UInt64(max(0, ulnow)), uploadTotal: UInt64(max(0, ultotal)), downloaded: UInt64(max(0, dlnow))))
    return 0
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
