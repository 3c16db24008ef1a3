import TributarySettings

/// Everything `tributary-core serve` can be told. Defaults run a single embedded node
/// (filesystem lake + SQLite catalog in the data directory). Reading it from TOML, flags and
/// environment variables is in `CoreConfiguration+Loading.swift`.
public struct CoreConfiguration: Sendable, Equatable {
    /// Holds `lake/`, `catalog.sqlite`, `staging/`, `s3-multipart/` and `admin.token`.
    /// Default `./tributary-data/core`. Node-local in a scaled-out deployment.
    public var dataDirectory: String = "./tributary-data/core"
    /// `host:port` to listen on. Default `127.0.0.1:8080`.
    public var listen: String = "127.0.0.1:8080"
    /// Lake location: a directory, or `s3://BUCKET[/PREFIX]` (see `s3`). Default `<data-dir>/lake`.
    public var lake: String?
    /// Catalog location: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]`, or a SQLite
    /// file path. Default `<data-dir>/catalog.sqlite`.
    public var catalog: String?
    /// Password for a `postgres://` catalog URL that carries none (`PGPASSWORD`).
    public var catalogPassword: String?
    /// Longest a catalog call may take before it fails with 503 (PostgreSQL only). Default 10 s.
    public var catalogTimeoutSeconds: Double = 10
    /// PostgreSQL connections per node. Default 16.
    public var catalogMaxConnections: Int = 16
    /// Settings of an `s3://` lake.
    public var s3 = S3Settings()
    /// Hive-style partition template. Default `stream={stream}/site={site}/date={date}`.
    public var partitionTemplate: String = PartitionTemplate.default.template
    /// Largest `Upload-Length` accepted (`Tus-Max-Size`). Default 16 GiB.
    public var maxUploadBytes: UInt64 = 16 << 30
    /// Largest decoded size of one upload (decompression-bomb guard). Default 64 GiB.
    public var maxDecodedBytes: UInt64 = 64 << 30
    /// Time an upload may take from creation to completion. Default 7 days.
    public var uploadExpirySeconds: Int = 7 * 24 * 3600
    /// How often expired uploads are swept. Default 60 s.
    public var sweepIntervalSeconds: Int = 60
    /// A connection idle this long (no bytes) is closed, freeing the upload it was writing. Default 60 s.
    public var idleTimeoutSeconds: Int = 60
    /// Two lower-case hex digits that begin every upload id this node makes, so a load balancer
    /// can send each upload's requests to the node that stages it (deploy/compose/nginx.conf).
    /// Default none: ids are fully random.
    public var nodeID: String?
    /// Admin token; generated into `<data-dir>/admin.token` when not set. Several nodes behind
    /// one load balancer must be given the same token.
    public var adminToken: String?
    /// A site heard from (heartbeat, commit, refused upload) no more recently than this is
    /// offline. Default 300 s.
    public var offlineAfterSeconds: Double = 300
    /// A site whose oldest pending object was captured longer ago than this is lagging. Default 900 s.
    public var laggingAfterSeconds: Double = 900
    /// A site whose edge reported new drops within this long is dropping. Default 3600 s.
    public var droppingWindowSeconds: Double = 3600
    /// One backlog history point per this many seconds (the last report in each wins). Default 60.
    public var backlogHistoryStepSeconds: Int = 60
    /// Backlog history kept per site. Default 86400 s (24 h).
    public var backlogHistorySeconds: Int = 86_400
    /// A token that may read `/metrics` besides the admin token. Default none: admin token only.
    public var metricsToken: String?
    /// Per-site quotas and fairness (`SiteLimits`: each field's doc gives its key's default).
    public var limits = SiteLimits()
    /// When a staged upload is quarantined instead of committed again (`max_commit_crashes`,
    /// `max_commit_failures`; see `CommitAttempts`).
    public var commitAttempts = CommitAttempts.Policy()
    /// PATCH body bytes the node gathers in memory at once, over all requests: blocks of 256 KiB
    /// lent to one request per write, first come first served, at most a quarter of them to one
    /// site; a request waiting for a block stops reading its connection (`BodyBudget`). At least
    /// 256 KiB. Default 8 MiB.
    public var maxBufferedBodyBytes: Int = BodyBudget.defaultTotalBytes
    /// Uploads start-up recovery commits at once, beside live traffic. Default 2.
    public var recoveryConcurrency: Int = 2
    /// PEM certificate chain of the listener; with `tlsKey`, the core serves HTTPS only (TLS 1.2+).
    /// Re-read with the key on SIGHUP. Default none: plain HTTP.
    public var tlsCert: String?
    /// PEM private key of `tlsCert`.
    public var tlsKey: String?
    /// PEM bundle of CAs client certificates must chain to: every client must then present one
    /// (mutual TLS), and a registered certificate identity names its site. Needs `tlsCert`.
    public var tlsClientCA: String?
    /// How long a site's previous token keeps working after `sites rotate`. Default 86400 s (24 h).
    public var tokenGraceSeconds: Int = 86_400
    /// `TRIBUTARY_FAILPOINTS` (crash tests only).
    public var failPoints: String?
    public var logLevel: String = "info"
    /// This core's stable id in forwarding paths (`core_id`); default: generated once into
    /// `<data-dir>/core.id` (Forward/CorePath.swift).
    public var coreID: String?
    /// Forwarding to an upstream core (`[forward]`); nil: none.
    public var forward: ForwardConfiguration?
    /// The `forward_*` values `forward` was built from (later flags are merged into them).
    var forwardValues: [String: String] = [:]

    public init() {}

    public var lakePath: String { lake ?? dataDirectory + "/lake" }
    public var catalogPath: String { catalog ?? dataDirectory + "/catalog.sqlite" }
    public var stagingPath: String { dataDirectory + "/staging" }
    public var multipartStatePath: String { dataDirectory + "/s3-multipart" }
    public var adminTokenPath: String { dataDirectory + "/admin.token" }
    public var coreIDPath: String { dataDirectory + "/core.id" }
    public var forwardPath: String { dataDirectory + "/forward" }

    /// The listener's TLS files, or nil for plain HTTP.
    public func tlsFiles() throws -> ServerTLS.Files? {
        switch (tlsCert, tlsKey) {
        case (nil, nil):
            if tlsClientCA != nil { throw ConfigurationError("tls_client_ca needs tls_cert and tls_key") }
            return nil
        case (let cert?, let key?):
            return ServerTLS.Files(certificateChain: cert, privateKey: key, clientCA: tlsClientCA)
        default:
            throw ConfigurationError("tls_cert and tls_key must be given together")
        }
    }

    public var fleetRules: FleetRules {
        FleetRules(offlineAfterSeconds: offlineAfterSeconds, laggingAfterSeconds: laggingAfterSeconds, droppingWindowSeconds: droppingWindowSeconds)
    }

    /// Which lake backend `lake` names.
    public func lakeLocation() throws -> LakeLocation {
        let l = lakePath
        if l.hasPrefix("s3://") { return .s3(try S3Location(l)) }
        if l.contains("://") { throw ConfigurationError("lake '\(l)' is neither a directory nor an s3://BUCKET[/PREFIX] URL") }
        return .directory(l)
    }

    /// Which catalog backend `catalog` names.
    public func catalogLocation() throws -> CatalogLocation {
        let c = catalogPath
        if c.hasPrefix("postgres://") || c.hasPrefix("postgresql://") {
            var url = try PostgresURL(c)
            if url.password == nil { url.password = catalogPassword }
            return .postgres(url)
        }
        if c.hasPrefix("sqlite://") { return .sqlite(String(c.dropFirst(9))) }
        if c.contains("://") { throw ConfigurationError("catalog '\(c)' is neither a SQLite file nor a postgres:// URL") }
        return .sqlite(c)
    }

    /// Host and port of `listen`.
    public func hostAndPort() throws -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port)
        else { throw ConfigurationError("listen address '\(listen)' is not host:port") }
        return (String(listen[..<colon]), port)
    }
}

public enum LakeLocation: Sendable, Equatable {
    case directory(String)
    case s3(S3Location)
}

public enum CatalogLocation: Sendable, Equatable {
    case sqlite(String)
    case postgres(PostgresURL)
}

/// Settings of an S3-compatible lake (AWS S3, MinIO, Ceph RGW, SeaweedFS).
public struct S3Settings: Sendable, Equatable {
    /// `http(s)://host[:port]` of the store. Default: AWS (`https://s3.REGION.amazonaws.com`).
    /// Falls back to `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`.
    public var endpoint: String?
    /// Signing region. Default `us-east-1` (or `AWS_REGION` / `AWS_DEFAULT_REGION`).
    public var region: String = "us-east-1"
    /// `ENDPOINT/BUCKET/KEY` instead of `BUCKET.ENDPOINT/KEY`. Default: on when `endpoint` is set.
    public var pathStyle: Bool?
    /// Credentials. Default `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`).
    public var accessKeyID: String?
    public var secretAccessKey: String?
    public var sessionToken: String?
    /// Objects at least this large go as multipart uploads. Default 64 MiB.
    public var multipartThresholdBytes: UInt64 = 64 << 20
    /// Part size of multipart uploads, at least 5 MiB. Default 16 MiB.
    public var partSizeBytes: UInt64 = 16 << 20
    /// How a placement avoids overwriting a key: `if-none-match` (conditional PUT; falls back to
    /// `head` by itself if the store answers 501) or `head` (HEAD before PUT). Default `if-none-match`.
    public var conditionalCreate: String = "if-none-match"
    /// PEM bundle of CAs to trust instead of the system store.
    public var caFile: String?
    /// Longest a request without a body (HEAD, DELETE, small POST) may take. Default 30 s.
    /// Bodies are bounded by a low-speed limit instead (under 1 KiB/s for 15 s aborts).
    public var requestTimeoutSeconds: Double = 30
    /// PUTs in flight at once while placing one upload's objects. Default 8.
    public var parallelism: Int = 8

    public init() {}

    public var usesPathStyle: Bool { pathStyle ?? (endpoint != nil) }
}

/// Shared with the edge: `TributarySettings.ConfigurationError`.
public typealias ConfigurationError = TributarySettings.ConfigurationError

extension LakeLocation: CustomStringConvertible {
    public var description: String {
        switch self {
        case .directory(let d): d
        case .s3(let l): l.description
        }
    }
}

extension CatalogLocation: CustomStringConvertible {
    /// Never shows a password.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:" + path
        case .postgres(let url): url.description
        }
    }
}
