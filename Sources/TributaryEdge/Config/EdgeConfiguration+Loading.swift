import TributaryDelivery
import TributarySettings
import TributaryProtocol

extension EdgeConfiguration: LayeredSettings {
    /// Settings by TOML key; each is overridden by `TRIBUTARY_<KEY in upper case>` and then by flags.
    /// `priorities` and `bandwidth_schedule` are TOML tables/arrays or strings
    /// (`alarms=10,vibration=5`; `08:00-18:00=50000,22:00-06:00=0`).
    public static let keys: [String] = [
        "site", "token", "core_url", "core", "failover_after_seconds", "failback_probe_seconds", "ca_file", "inbox", "spool_dir", "inbox_policy", "default_stream",
        "settle_ms", "poll_ms", "inotify", "max_spool_bytes", "max_spool_objects", "full_policy",
        "segment_max_bytes", "segment_max_objects", "segment_max_age_ms", "segment_idle_linger_ms", "zstd_level", "zstd_small_segment_level",
        "segment_manifest_version", "large_object_bytes",
        "dictionary_bytes", "dictionary_sample_bytes", "dictionary_sample_object_bytes", "dictionary_retrain_objects",
        "incompressible_alone_bytes", "have_check_min_bytes", "batches_ahead", "chunk_bytes", "chunk_floor_bytes", "poison_after_failures", "connect_timeout_seconds", "stall_seconds",
        "bandwidth_bytes_per_second", "bandwidth_schedule", "retry_base_ms", "retry_cap_ms", "down_after_failures",
        "priorities", "heartbeat_seconds", "heartbeat_min_interval_seconds", "metrics_textfile", "log_level",
        "token_file", "allow_insecure_http", "client_cert", "client_key",
    ]

    public static func environmentName(_ key: String) -> String { "TRIBUTARY_" + key.uppercased() }

    /// `core` and `core_url` name the same setting (`core_url` is the older name): a URL, a TOML
    /// array of URLs, or URLs separated by commas (environment, flags).
    /// Within one layer (file, environment, flags) only one may be given; a later layer overrides.
    static func foldCore(_ values: inout [String: String], layer: String) throws {
        guard let core = values.removeValue(forKey: "core") else { return }
        guard values["core_url"] == nil else { throw ConfigurationError("\(layer): core and core_url are the same setting; give one") }
        values["core_url"] = core
    }

    /// Defaults, then the TOML file (top level or `[edge]`), then the environment.
    public static func load(file: String?, environment: [String: String]) throws -> EdgeConfiguration {
        var values: [String: String] = [:]
        var sources: TOMLValue? = nil
        if let file {
            let section = try TOMLSettings.read(file: file, section: "edge", known: Set(keys).union(["source"]))
            for key in keys {
                guard let v = section[key] else { continue }
                values[key] = try tomlValue(v, key: key, file: file)
            }
            try foldCore(&values, layer: "config file \(file)")
            // `[[source]]` after `[edge]` lands at the top level; `[[edge.source]]` in the section.
            if let inSection = section["source"] { sources = inSection } else { sources = try TOMLSettings.document(file: file)["source"] }
        }
        var env: [String: String] = [:]
        for key in keys { if let v = environment[environmentName(key)], !v.isEmpty { env[key] = v } }
        try foldCore(&env, layer: "environment")
        values.merge(env) { _, e in e }
        var c = EdgeConfiguration()
        try c.apply(values)
        if let file {
            c.sources = try S3SourceSettings.load(sources, file: file, environment: environment, defaultStream: c.defaultStream)
        }
        if c.token.isEmpty, let file = c.tokenFile { c.token = try TOMLSettings.secret(file: file, key: "token_file") }
        return c
    }

    /// A TOML value as the string form `apply` takes.
    private static func tomlValue(_ v: TOMLValue, key: String, file: String) throws -> String {
        if let s = TOMLSettings.scalar(v) { return s }
        if key == "core" || key == "core_url", let a = v.array {
            return try a.map { item in
                guard let url = item.string else { throw ConfigurationError("config file \(file): \(key) must be a URL or an array of URLs") }
                return url
            }.joined(separator: ",")
        }
        if key == "priorities", let t = v.table {
            return try t.keys.sorted().map { stream in
                guard let p = t[stream]?.int else { throw ConfigurationError("config file \(file): priorities.\(stream) must be an integer") }
                return "\(stream)=\(p)"
            }.joined(separator: ",")
        }
        if key == "bandwidth_schedule", let a = v.array {
            return try a.map { item in
                guard let t = item.table, let from = t["from"]?.string, let to = t["to"]?.string, let rate = t["bytes_per_second"]?.int else {
                    throw ConfigurationError("config file \(file): each bandwidth_schedule entry needs from = \"HH:MM\", to = \"HH:MM\", bytes_per_second = N")
                }
                return "\(from)-\(to)=\(rate)"
            }.joined(separator: ",")
        }
        throw ConfigurationError("config file \(file): '\(key)' has a value of the wrong type")
    }

    /// Applies settings by TOML key (also used for command-line flags).
    public mutating func apply(_ values: [String: String]) throws {
        func int(_ k: String, min: Int = 0) throws -> Int? {
            guard let v = values[k] else { return nil }
            guard let i = Int(v), i >= min else { throw ConfigurationError("\(k) must be an integer ≥ \(min), got '\(v)'") }
            return i
        }
        func double(_ k: String) throws -> Double? {
            guard let v = values[k] else { return nil }
            guard let d = Double(v), d > 0 else { throw ConfigurationError("\(k) must be a positive number, got '\(v)'") }
            return d
        }
        func oneOf<E: RawRepresentable & CaseIterable>(_ k: String, _: E.Type) throws -> E? where E.RawValue == String {
            guard let v = values[k] else { return nil }
            guard let e = E(rawValue: v) else {
                throw ConfigurationError("\(k) must be one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), got '\(v)'")
            }
            return e
        }
        if let v = values["site"] { site = v }
        if let v = values["token"] { token = v }
        var folded = values
        try Self.foldCore(&folded, layer: "settings")
        if let v = folded["core_url"] {
            let urls = v.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            guard !urls.isEmpty else { throw ConfigurationError("core: no URL given") }
            guard urls.count <= 16 else { throw ConfigurationError("core: at most 16 URLs, got \(urls.count)") }
            coreURLs = urls
        }
        if let v = values["failover_after_seconds"] {
            guard let d = Double(v), d >= 0, d <= 86_400 else { throw ConfigurationError("failover_after_seconds must be 0…86400, got '\(v)'") }
            failoverAfterSeconds = d
        }
        if let v = try double("failback_probe_seconds") { failbackProbeSeconds = v }
        if let v = values["ca_file"] { caFile = v.isEmpty ? nil : v }
        if let v = values["inbox"] { inboxDirectory = v }
        if let v = values["spool_dir"] { spoolDirectory = v }
        if let v = try oneOf("inbox_policy", InboxPolicy.self) { inboxPolicy = v }
        if let v = values["default_stream"] { defaultStream = v }
        if let v = try int("settle_ms") { settleMilliseconds = v }
        if let v = try int("poll_ms", min: 10) { pollMilliseconds = v }
        if let v = values["inotify"] {
            guard v == "true" || v == "false" else { throw ConfigurationError("inotify must be true or false, got '\(v)'") }
            useInotify = v == "true"
        }
        if let v = try int("max_spool_bytes", min: 1) { maxSpoolBytes = UInt64(v) }
        if let v = try int("max_spool_objects", min: 1) { maxSpoolObjects = v }
        if let v = try oneOf("full_policy", FullPolicy.self) { fullPolicy = v }
        if let v = try int("segment_max_bytes", min: 1) { segmentMaxBytes = UInt64(v) }
        if let v = try int("segment_max_objects", min: 1) { segmentMaxObjects = v }
        if let v = try int("segment_max_age_ms") { segmentMaxAgeMilliseconds = v }
        if let v = try int("segment_idle_linger_ms") { segmentIdleLingerMilliseconds = v }
        if let v = try int("zstd_level", min: 1) {
            guard v <= 19 else { throw ConfigurationError("zstd_level must be 1…19, got \(v)") }
            zstdLevel = Int32(v)
        }
        if let v = try int("zstd_small_segment_level", min: 1) {
            guard v <= 19 else { throw ConfigurationError("zstd_small_segment_level must be 1…19, got \(v)") }
            zstdSmallSegmentLevel = Int32(v)
        }
        if let v = try int("segment_manifest_version", min: 1) {
            guard SegmentManifest.versions.contains(v) else {
                throw ConfigurationError("segment_manifest_version must be 1 or 2, got \(v)")
            }
            segmentManifestVersion = v
        }
        if let v = try int("dictionary_bytes", min: 0) {
            guard v == 0 || (1024...ZstdDictionary.maxBytes).contains(v) else {
                throw ConfigurationError("dictionary_bytes must be 0 (off) or 1024…\(ZstdDictionary.maxBytes), got \(v)")
            }
            dictionaryBytes = v
        }
        if let v = try int("dictionary_sample_bytes", min: 16 << 10) {
            guard v <= 16 << 20 else { throw ConfigurationError("dictionary_sample_bytes must be at most 16 MiB, got \(v)") }
            dictionarySampleBytes = v
        }
        if let v = try int("dictionary_sample_object_bytes", min: 256) { dictionarySampleObjectBytes = v }
        if let v = try int("dictionary_retrain_objects", min: 0) { dictionaryRetrainObjects = v }
        if let v = try int("large_object_bytes", min: 1) { largeObjectBytes = UInt64(v) }
        if let v = try int("incompressible_alone_bytes", min: 1) { incompressibleAloneBytes = UInt64(v) }
        if let v = try int("have_check_min_bytes", min: 0) { haveCheckMinBytes = UInt64(v) }
        if let v = try int("batches_ahead", min: 1) { batchesAhead = v }
        if let v = try int("chunk_bytes", min: 1024) { chunkBytes = UInt64(v) }
        if let v = try int("chunk_floor_bytes", min: 1024) { chunkFloorBytes = UInt64(v) }
        if let v = try int("poison_after_failures", min: 1) { poisonAfterFailures = v }
        if let v = try double("connect_timeout_seconds") { connectTimeoutSeconds = v }
        if let v = try int("stall_seconds", min: 1) { stallSeconds = v }
        if let v = try int("bandwidth_bytes_per_second") { bandwidthBytesPerSecond = Int64(v) }
        if let v = values["bandwidth_schedule"] { bandwidthSchedule = try BandwidthSchedule(parsing: v) }
        if let v = try int("retry_base_ms", min: 1) { retryBaseMilliseconds = v }
        if let v = try int("retry_cap_ms", min: 1) { retryCapMilliseconds = v }
        if let v = try int("down_after_failures", min: 1) { downAfterFailures = v }
        if let v = values["priorities"] { priorities = try Self.parsePriorities(v) }
        if let v = try int("heartbeat_seconds", min: 1) { heartbeatSeconds = v }
        if let v = try int("heartbeat_min_interval_seconds", min: 0) { heartbeatMinIntervalSeconds = v }
        if let v = values["metrics_textfile"] { metricsTextfile = v.isEmpty ? nil : v }
        if let v = values["log_level"] { logLevel = v }
        if let v = values["token_file"] { tokenFile = v.isEmpty ? nil : v }
        if let v = values["allow_insecure_http"] {
            guard v == "true" || v == "false" else { throw ConfigurationError("allow_insecure_http must be true or false, got '\(v)'") }
            allowInsecureHTTP = v == "true"
        }
        if let v = values["client_cert"] { clientCert = v.isEmpty ? nil : v }
        if let v = values["client_key"] { clientKey = v.isEmpty ? nil : v }
        guard (clientCert == nil) == (clientKey == nil) else { throw ConfigurationError("client_cert and client_key must be given together") }

        for url in coreURLs where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ConfigurationError("core_url must start with http:// or https://, got '\(url)'")
        }
        do { try Names.validateStream(defaultStream) } catch { throw ConfigurationError("default_stream: \(error)") }
        guard retryCapMilliseconds >= retryBaseMilliseconds else {
            throw ConfigurationError("retry_cap_ms (\(retryCapMilliseconds)) must be ≥ retry_base_ms (\(retryBaseMilliseconds))")
        }
    }

    static func parsePriorities(_ text: String) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
            guard kv.count == 2, let p = Int(kv[1]) else {
                throw ConfigurationError("priorities must look like alarms=10,vibration=5, got '\(text)'")
            }
            do { try Names.validateStream(kv[0]) } catch { throw ConfigurationError("priorities: \(error)") }
            out[kv[0]] = p
        }
        return out
    }

    /// Checks what `run` needs beyond what any command needs.
    public func validateForRun() throws {
        guard !site.isEmpty else { throw ConfigurationError("no site id: set site in the config file, TRIBUTARY_SITE or --site") }
        do { try Names.validateSite(site) } catch { throw ConfigurationError("site: \(error)") }
        guard !token.isEmpty || clientCert != nil else {
            throw ConfigurationError("no site token: set token_file (or token) in the config file, or TRIBUTARY_TOKEN (or client_cert for a site known by its certificate)")
        }
        var origins: [CoreOrigin] = []
        for url in coreURLs {
            guard let origin = CoreOrigin(url) else { throw ConfigurationError("core_url '\(url)' is not http(s)://HOST[:PORT]") }
            if origin.scheme == "http" && !origin.isLoopback && !allowInsecureHTTP {
                throw ConfigurationError(
                    "core_url '\(url)' is plain http:// to another machine: the token would cross the network in clear. "
                        + "Use https://, or set allow_insecure_http = true")
            }
            // An upload URL is told apart by its origin (`CoreFailover.upload(_:isOn:)`): two cores on one origin could not be.
            guard !origins.contains(origin) else { throw ConfigurationError("core: two URLs on one scheme, host and port ('\(url)'); list each core once") }
            origins.append(origin)
        }
    }
}
