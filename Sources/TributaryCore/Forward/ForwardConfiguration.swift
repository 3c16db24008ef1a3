import TributaryDelivery
import TributarySettings

/// Forwarding to an upstream core (`[forward]` in the core's TOML; `serve --forward-url/--forward-token`;
/// docs/REPLICATION.md, "Forwarding"). Absent: this core forwards nothing.
public struct ForwardConfiguration: Sendable, Equatable {
    /// The upstream core's base URL (`https://core.example:8443`).
    public var url: String
    /// This core's site token at the upstream (registered there with `sites add NAME --relay`).
    /// Empty with mutual TLS only… not supported: the upstream names the relay by its token.
    public var token: String
    /// PEM CA bundle the upstream's certificate must chain to. Default: the system's.
    public var caFile: String?
    /// The recovery-point objective: `tributary_forward_rpo_seconds`, the alert fires when the
    /// lag exceeds it. Default 900 s.
    public var rpoSeconds: Double = 900
    /// Upload rate cap in bytes/s outside the schedule's windows (0: unlimited). Default 0.
    public var bandwidthBytesPerSecond: Int64 = 0
    /// Time-of-day windows with their own cap, as on the edge (`08:00-18:00=50000`).
    public var bandwidthSchedule = BandwidthSchedule()
    /// Failures blamed on one upload (the upstream answered but did not take it) before it is
    /// set aside with its reason. Default 5.
    public var maxStrikes: Int = 5
    /// Largest PATCH. Default 8 MiB.
    public var chunkBytes: UInt64 = 8 << 20
    /// zstd level of the segments sent. Default 3.
    public var zstdLevel: Int32 = 3

    public init(url: String, token: String) {
        self.url = url
        self.token = token
    }

    /// The keys of `[forward]`, as `CoreConfiguration` values carry them (`forward_` + key).
    static let tomlKeys = [
        "url", "token", "token_file", "ca_file", "rpo_seconds", "bandwidth_bytes_per_second", "bandwidth_schedule", "max_strikes",
        "chunk_bytes", "zstd_level",
    ]

    /// `[forward]` of the TOML file as `forward_*` values (nil: the file has none).
    static func values(file: String) throws -> [String: String] {
        let document = try TOMLSettings.document(file: file)
        guard let table = document["forward"] else { return [:] }
        guard let section = table.table else { throw ConfigurationError("config file \(file): [forward] must be a table") }
        var out: [String: String] = [:]
        for key in section.keys {
            guard tomlKeys.contains(key) else { throw ConfigurationError("config file \(file): unknown setting '\(key)' in [forward]") }
            guard let v = section[key], let scalar = TOMLSettings.scalar(v) else {
                throw ConfigurationError("config file \(file): [forward] '\(key)' must be a string, a number or a boolean")
            }
            out["forward_" + key] = scalar
        }
        return out
    }

    /// Builds the configuration from `forward_*` values; nil when no `forward_url` is set.
    static func from(_ values: [String: String]) throws -> ForwardConfiguration? {
        // Without a url (yet: flags are applied after the file and the environment), nothing;
        // `CoreConfiguration.validateForward` refuses settings that never got one.
        guard let url = values["forward_url"], !url.isEmpty else { return nil }
        guard let origin = CoreOrigin(url) else { throw ConfigurationError("forward url '\(url)' must be http(s)://HOST[:PORT]") }
        if origin.scheme == "http" && !origin.isLoopback {
            throw ConfigurationError("forward url '\(url)': plain http is only allowed to this machine; use https")
        }
        guard let token = values["forward_token"], !token.isEmpty else {
            throw ConfigurationError("[forward] needs token or token_file (or --forward-token): this core's relay token at the upstream")
        }
        var c = ForwardConfiguration(url: url.hasSuffix("/") ? String(url.dropLast()) : url, token: token)
        c.caFile = values["forward_ca_file"].flatMap { $0.isEmpty ? nil : $0 }
        func number(_ k: String, _ range: ClosedRange<Double>) throws -> Double? {
            guard let v = values["forward_" + k] else { return nil }
            guard let d = Double(v), d.isFinite, range.contains(d) else {
                throw ConfigurationError("[forward] \(k) must be a number from \(range.lowerBound) to \(range.upperBound), got '\(v)'")
            }
            return d
        }
        if let v = try number("rpo_seconds", 1...(30 * 86_400)) { c.rpoSeconds = v }
        if let v = try number("bandwidth_bytes_per_second", 0...1e12) { c.bandwidthBytesPerSecond = Int64(v) }
        if let v = values["forward_bandwidth_schedule"] { c.bandwidthSchedule = try BandwidthSchedule(parsing: v) }
        if let v = try number("max_strikes", 1...1000) { c.maxStrikes = Int(v) }
        if let v = try number("chunk_bytes", 65_536...1_073_741_824) { c.chunkBytes = UInt64(v) }
        if let v = try number("zstd_level", 1...19) { c.zstdLevel = Int32(v) }
        return c
    }
}

extension CoreConfiguration {
    /// Forwarding settings without a url are a mistake, not a silent no-op.
    public func validateForward() throws {
        if forward == nil && forwardValues.contains(where: { $0.key != "forward_url" && !$0.value.isEmpty }) {
            throw ConfigurationError("[forward] needs url (or --forward-url)")
        }
    }
}
