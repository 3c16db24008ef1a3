import TOMLKit

extension CoreConfiguration {
    /// Settings by TOML key, with the environment variable that overrides each. Flags override both.
    static let keys: [(toml: String, env: String)] = [
        ("data_dir", "TRIBUTARY_DATA_DIR"), ("listen", "TRIBUTARY_LISTEN"), ("lake", "TRIBUTARY_LAKE"),
        ("partition_template", "TRIBUTARY_PARTITION_TEMPLATE"), ("max_upload_bytes", "TRIBUTARY_MAX_UPLOAD_BYTES"),
        ("max_decoded_bytes", "TRIBUTARY_MAX_DECODED_BYTES"), ("upload_expiry_seconds", "TRIBUTARY_UPLOAD_EXPIRY_SECONDS"),
        ("sweep_interval_seconds", "TRIBUTARY_SWEEP_INTERVAL_SECONDS"), ("idle_timeout_seconds", "TRIBUTARY_IDLE_TIMEOUT_SECONDS"),
        ("admin_token", "TRIBUTARY_ADMIN_TOKEN"), ("log_level", "TRIBUTARY_LOG_LEVEL"), ("failpoints", "TRIBUTARY_FAILPOINTS"),
    ]

    /// Defaults, then the TOML file (if any), then `TRIBUTARY_*` environment variables.
    public static func load(file: String?, environment: [String: String]) throws -> CoreConfiguration {
        var values: [String: String] = [:]
        if let file {
            let text: String
            do {
                text = String(decoding: try FileIO.readAll(file, limit: 1 << 20), as: UTF8.self)
            } catch {
                throw ConfigurationError("cannot read config file \(file): \(error)")
            }
            let table: TOMLTable
            do {
                table = try TOMLTable(string: text)
            } catch {
                throw ConfigurationError("config file \(file) is not valid TOML: \(error)")
            }
            // The core's settings may sit at the top level or under [core].
            let section = table["core"]?.table ?? table
            let known = Set(keys.map(\.toml))
            for key in section.keys where !known.contains(key) && key != "core" {
                throw ConfigurationError("config file \(file): unknown setting '\(key)'")
            }
            for (toml, _) in keys {
                guard let v = section[toml] else { continue }
                if let s = v.string { values[toml] = s } else if let i = v.int { values[toml] = String(i) } else {
                    throw ConfigurationError("config file \(file): '\(toml)' must be a string or an integer")
                }
            }
        }
        for (toml, env) in keys { if let v = environment[env], !v.isEmpty { values[toml] = v } }
        var c = CoreConfiguration()
        try c.apply(values)
        return c
    }

    /// Applies settings by TOML key (also used for command-line flags).
    public mutating func apply(_ values: [String: String]) throws {
        func int(_ k: String) throws -> Int? {
            guard let v = values[k] else { return nil }
            guard let i = Int(v), i >= 0 else { throw ConfigurationError("\(k) must be a non-negative integer, got '\(v)'") }
            return i
        }
        if let v = values["data_dir"] { dataDirectory = v }
        if let v = values["listen"] { listen = v }
        if let v = values["lake"] { lakeDirectory = v }
        if let v = values["partition_template"] { partitionTemplate = v }
        if let v = try int("max_upload_bytes") { maxUploadBytes = UInt64(v) }
        if let v = try int("max_decoded_bytes") { maxDecodedBytes = UInt64(v) }
        if let v = try int("upload_expiry_seconds") { uploadExpirySeconds = v }
        if let v = try int("sweep_interval_seconds") { sweepIntervalSeconds = max(1, v) }
        if let v = try int("idle_timeout_seconds") { idleTimeoutSeconds = max(1, v) }
        if let v = values["admin_token"] { adminToken = v }
        if let v = values["log_level"] { logLevel = v }
        if let v = values["failpoints"] { failPoints = v }
        _ = try hostAndPort()
        _ = try PartitionTemplate(partitionTemplate)
    }
}
