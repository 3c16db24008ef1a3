// A small, blocking HTTP client over libcurl's easy interface, shared by the edge's tus client
// and the core's S3 lake. No SwiftNIO: the edge stays light.
//
// - One `CurlSession` owns one easy handle and reuses its connection between requests.
// - Request bodies stream from memory or from a file range (`pread`), never whole files in memory.
// - Response bodies go to a sink closure or into a buffer capped at `maxResponseBytes`.
// - `perform` blocks the calling thread; `BlockingThread.run` moves it off Swift's cooperative pool.

/// One HTTP request.
public struct HTTPRequest: Sendable {
    public enum Body: Sendable {
        case none
        case bytes([UInt8])
        /// `length` bytes of the open file `fd` from `offset` (the caller keeps `fd` open).
        case file(fd: Int32, offset: UInt64, length: UInt64)
    }

    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: Body

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: Body = .none) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public var bodyLength: UInt64 {
        switch body {
        case .none: 0
        case .bytes(let b): UInt64(b.count)
        case .file(_, _, let length): length
        }
    }
}

/// One HTTP response. Header names are lower-cased; repeated headers keep their order.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    /// The body, when no sink was given (truncated at `TransferOptions.maxResponseBytes`).
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }
}

/// Per-transfer settings. Defaults suit a flaky link: connect within 10 s, abort a transfer that
/// moves under 1 KiB/s for 15 s, no overall time limit (large bodies take as long as they take).
public struct TransferOptions: Sendable {
    /// Seconds to establish TCP (+TLS).
    public var connectTimeout: Double = 10
    /// Abort when fewer than `lowSpeedLimit` bytes/s move for `lowSpeedTime` seconds.
    public var lowSpeedLimit: Int = 1024
    public var lowSpeedTime: Int = 15
    /// Overall limit in seconds; 0 means none.
    public var totalTimeout: Double = 0
    /// Upload rate cap in bytes/s; 0 means none.
    public var maxSendSpeed: Int64 = 0
    /// PEM bundle of trusted CAs instead of the system store.
    public var caFile: String?
    /// PEM client certificate and its key (mutual TLS).
    public var clientCertificate: String?
    public var clientKey: String?
    /// libcurl's AWS SigV4 signing, e.g. "aws:amz:us-east-1:s3", with `userPassword` "KEY:SECRET".
    public var awsSigV4: String?
    public var userPassword: String?
    /// Response bodies beyond this many bytes are dropped (when no sink is given).
    public var maxResponseBytes: Int = 1 << 20

    public init() {}
}

/// A transfer that failed below HTTP: DNS, connect, TLS, timeout, reset, aborted by the caller.
public struct TransferError: Error, Sendable, CustomStringConvertible {
    /// libcurl's CURLcode.
    public var code: Int
    public var message: String
    /// Request-body bytes libcurl had handed to the socket when it failed.
    public var bytesSent: UInt64
    public var aborted: Bool

    public var description: String { aborted ? "transfer aborted: \(message)" : "transfer failed (curl \(code)): \(message)" }
}
