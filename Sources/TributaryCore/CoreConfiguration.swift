/// Everything `tributary-core serve` can be told. Defaults run a single embedded node.
/// Reading it from TOML, flags and `TRIBUTARY_*` environment variables is in
/// `CoreConfiguration+Loading.swift`.
public struct CoreConfiguration: Sendable, Equatable {
    /// Holds `lake/`, `catalog.sqlite`, `staging/` and `admin.token`. Default `./tributary-data/core`.
    public var dataDirectory: String = "./tributary-data/core"
    /// `host:port` to listen on. Default `127.0.0.1:8080`.
    public var listen: String = "127.0.0.1:8080"
    /// Lake location; default `<data-dir>/lake`.
    public var lakeDirectory: String?
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
    /// Admin token; generated into `<data-dir>/admin.token` when not set.
    public var adminToken: String?
    /// `TRIBUTARY_FAILPOINTS` (crash tests only).
    public var failPoints: String?
    public var logLevel: String = "info"

    public init() {}

    public var lakePath: String { lakeDirectory ?? dataDirectory + "/lake" }
    public var catalogPath: String { dataDirectory + "/catalog.sqlite" }
    public var stagingPath: String { dataDirectory + "/staging" }
    public var adminTokenPath: String { dataDirectory + "/admin.token" }

    /// Host and port of `listen`.
    public func hostAndPort() throws -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port)
        else { throw ConfigurationError("listen address '\(listen)' is not host:port") }
        return (String(listen[..<colon]), port)
    }
}

public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
