import TributarySettings
import TributaryProtocol

extension CoreConfiguration: LayeredSettings {
    /// Settings by TOML key, with the environment variable that overrides each. Flags override both.
    static let keys: [(toml: String, env: String)] = [
        ("data_dir", "TRIBUTARY_DATA_DIR"), ("listen", "TRIBUTARY_LISTEN"), ("lake", "TRIBUTARY_LAKE"),
        ("partition_template", "TRIBUTARY_PARTITION_TEMPLATE"), ("max_upload_bytes", "TRIBUTARY_MAX_UPLOAD_BYTES"),
        ("max_decoded_bytes", "TRIBUTARY_MAX_DECODED_BYTES"), ("upload_expiry_seconds", "TRIBUTARY_UPLOAD_EXPIRY_SECONDS"),
        ("sweep_interval_seconds", "TRIBUTARY_SWEEP_INTERVAL_SECONDS"), ("idle_timeout_seconds", "TRIBUTARY_IDLE_TIMEOUT_SECONDS"),
        ("admin_token", "TRIBUTARY_ADMIN_TOKEN"), ("log_level", "TRIBUTARY_LOG_LEVEL"), ("failpoints", "TRIBUTARY_FAILPOINTS"),
        ("catalog", "TRIBUTARY_CATALOG"), ("node_id", "TRIBUTARY_NODE_ID"), ("catalog_timeout_seconds", "TRIBUTARY_CATALOG_TIMEOUT_SECONDS"),
        ("catalog_max_connections", "TRIBUTARY_CATALOG_MAX_CONNECTIONS"),
        ("offline_after_seconds", "TRIBUTARY_OFFLINE_AFTER_SECONDS"), ("lagging_after_seconds", "TRIBUTARY_LAGGING_AFTER_SECONDS"),
        ("dropping_window_seconds", "TRIBUTARY_DROPPING_WINDOW_SECONDS"),
        ("backlog_history_step_seconds", "TRIBUTARY_BACKLOG_HISTORY_STEP_SECONDS"),
        ("backlog_history_seconds", "TRIBUTARY_BACKLOG_HISTORY_SECONDS"), ("metrics_token", "TRIBUTARY_METRICS_TOKEN"),
        ("s3_endpoint", "TRIBUTARY_S3_ENDPOINT"), ("s3_region", "TRIBUTARY_S3_REGION"), ("s3_path_style", "TRIBUTARY_S3_PATH_STYLE"),
        ("s3_access_key_id", "TRIBUTARY_S3_ACCESS_KEY_ID"), ("s3_secret_access_key", "TRIBUTARY_S3_SECRET_ACCESS_KEY"),
        ("s3_multipart_threshold_bytes", "TRIBUTARY_S3_MULTIPART_THRESHOLD_BYTES"), ("s3_part_size_bytes", "TRIBUTARY_S3_PART_SIZE_BYTES"),
        ("s3_conditional_create", "TRIBUTARY_S3_CONDITIONAL_CREATE"), ("s3_ca_file", "TRIBUTARY_S3_CA_FILE"),
        ("s3_request_timeout_seconds", "TRIBUTARY_S3_REQUEST_TIMEOUT_SECONDS"), ("s3_parallelism", "TRIBUTARY_S3_PARALLELISM"),
        ("max_open_uploads_per_site", "TRIBUTARY_MAX_OPEN_UPLOADS_PER_SITE"),
        ("max_staged_bytes_per_site", "TRIBUTARY_MAX_STAGED_BYTES_PER_SITE"), ("max_staged_bytes", "TRIBUTARY_MAX_STAGED_BYTES"),
        ("min_free_bytes", "TRIBUTARY_MIN_FREE_BYTES"), ("max_metadata_bytes", "TRIBUTARY_MAX_METADATA_BYTES"),
        ("creations_per_second", "TRIBUTARY_CREATIONS_PER_SECOND"), ("creation_burst", "TRIBUTARY_CREATION_BURST"),
        ("heartbeats_per_second", "TRIBUTARY_HEARTBEATS_PER_SECOND"), ("heartbeat_burst", "TRIBUTARY_HEARTBEAT_BURST"),
        ("max_requests_per_site", "TRIBUTARY_MAX_REQUESTS_PER_SITE"),
        ("min_body_bytes_per_second", "TRIBUTARY_MIN_BODY_BYTES_PER_SECOND"), ("body_rate_grace_seconds", "TRIBUTARY_BODY_RATE_GRACE_SECONDS"),
        ("max_commit_crashes", "TRIBUTARY_MAX_COMMIT_CRASHES"), ("max_commit_failures", "TRIBUTARY_MAX_COMMIT_FAILURES"),
        ("recovery_concurrency", "TRIBUTARY_RECOVERY_CONCURRENCY"),
        ("max_buffered_body_bytes", "TRIBUTARY_MAX_BUFFERED_BODY_BYTES"),
        ("tls_cert", "TRIBUTARY_TLS_CERT"), ("tls_key", "TRIBUTARY_TLS_KEY"), ("tls_client_ca", "TRIBUTARY_TLS_CLIENT_CA"),
        ("token_grace_seconds", "TRIBUTARY_TOKEN_GRACE_SECONDS"),
        ("admin_token_file", "TRIBUTARY_ADMIN_TOKEN_FILE"), ("metrics_token_file", "TRIBUTARY_METRICS_TOKEN_FILE"),
        ("catalog_password_file", "TRIBUTARY_CATALOG_PASSWORD_FILE"), ("s3_secret_access_key_file", "TRIBUTARY_S3_SECRET_ACCESS_KEY_FILE"),
        ("core_id", "TRIBUTARY_CORE_ID"),
    ] + ForwardConfiguration.tomlKeys.map { ("forward_" + $0, "TRIBUTARY_FORWARD_" + $0.uppercased()) }

    /// Secrets that may be given as `<key>_file`: the first line of that file (systemd credentials,
    /// compose secrets), so the value is in neither the environment nor the command line. A value
    /// given directly wins.
    static let secretKeys = ["admin_token", "metrics_token", "catalog_password", "s3_secret_access_key", "forward_token"]

    /// The usual variables of AWS tools and libpq, used when the setting is not given otherwise.
    static let fallbacks: [(toml: String, env: [String])] = [
        ("s3_endpoint", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]), ("s3_region", ["AWS_REGION", "AWS_DEFAULT_REGION"]),
        ("s3_access_key_id", ["AWS_ACCESS_KEY_ID"]), ("s3_secret_access_key", ["AWS_SECRET_ACCESS_KEY"]),
        ("s3_session_token", ["AWS_SESSION_TOKEN"]), ("catalog_password", ["PGPASSWORD"]),
    ]

    /// Defaults, then the TOML file (if any), then `TRIBUTARY_*` environment variables.
    public static func load(file: String?, environment: [String: String]) throws -> CoreConfiguration {
        var values: [String: String] = [:]
        if let file {
            let section = try TOMLSettings.read(file: file, section: "core", known: Set(keys.map(\.toml)).union(["forward"]))
            values.merge(try ForwardConfiguration.values(file: file)) { _, forward in forward }
            for (toml, _) in keys where !toml.hasPrefix("forward_") {
                guard let v = section[toml] else { continue }
                guard let scalar = TOMLSettings.scalar(v) else {
                    throw ConfigurationError("config file \(file): '\(toml)' must be a string, a number or a boolean")
                }
                values[toml] = scalar
            }
        }
        for (toml, env) in keys { if let v = environment[env], !v.isEmpty { values[toml] = v } }
        for key in secretKeys {
            guard let file = values.removeValue(forKey: key + "_file"), values[key] == nil else { continue }
            values[key] = try TOMLSettings.secret(file: file, key: key + "_file")
        }
        for (toml, envs) in fallbacks where values[toml] == nil {
            if let v = envs.lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) { values[toml] = v }
        }
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
        func seconds(_ k: String) throws -> Double? {
            guard let v = values[k] else { return nil }
            guard let d = Double(v), d > 0, d < 86_400 else { throw ConfigurationError("\(k) must be a positive number of seconds, got '\(v)'") }
            return d
        }
        if let v = values["data_dir"] { dataDirectory = v }
        if let v = values["listen"] { listen = v }
        if let v = values["lake"] { lake = v }
        if let v = values["partition_template"] { partitionTemplate = v }
        if let v = try int("max_upload_bytes") { maxUploadBytes = UInt64(v) }
        if let v = try int("max_decoded_bytes") { maxDecodedBytes = UInt64(v) }
        if let v = try int("upload_expiry_seconds") { uploadExpirySeconds = v }
        if let v = try int("sweep_interval_seconds") { sweepIntervalSeconds = max(1, v) }
        if let v = try int("idle_timeout_seconds") { idleTimeoutSeconds = max(1, v) }
        if let v = values["admin_token"] { adminToken = v }
        if let v = values["log_level"] { logLevel = v }
        if let v = values["failpoints"] { failPoints = v }
        if let v = values["catalog"] { catalog = v }
        if let v = values["node_id"] {
            guard v.utf8.count == 2, v.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
                throw ConfigurationError("node_id must be two lower-case hex digits (00-ff), got '\(v)'")
            }
            nodeID = v
        }
        if let v = try seconds("catalog_timeout_seconds") { catalogTimeoutSeconds = v }
        if let v = try int("catalog_max_connections") { catalogMaxConnections = max(1, v) }
        if let v = values["s3_endpoint"] { s3.endpoint = v.hasSuffix("/") ? String(v.dropLast()) : v }
        if let v = values["s3_region"] { s3.region = v }
        if let v = values["s3_path_style"] {
            guard let b = Bool(v.lowercased()) else { throw ConfigurationError("s3_path_style must be true or false, got '\(v)'") }
            s3.pathStyle = b
        }
        if let v = values["s3_access_key_id"] { s3.accessKeyID = v }
        if let v = values["s3_secret_access_key"] { s3.secretAccessKey = v }
        if let v = values["s3_session_token"] { s3.sessionToken = v }
        if let v = try int("s3_multipart_threshold_bytes") { s3.multipartThresholdBytes = UInt64(v) }
        if let v = try int("s3_part_size_bytes") {
            guard v >= 5 << 20 else { throw ConfigurationError("s3_part_size_bytes must be at least 5 MiB (5242880), got \(v)") }
            s3.partSizeBytes = UInt64(v)
        }
        if let v = values["s3_conditional_create"] {
            guard ["if-none-match", "head"].contains(v) else {
                throw ConfigurationError("s3_conditional_create must be 'if-none-match' or 'head', got '\(v)'")
            }
            s3.conditionalCreate = v
        }
        if let v = values["s3_ca_file"] { s3.caFile = v }
        if let v = try seconds("s3_request_timeout_seconds") { s3.requestTimeoutSeconds = v }
        if let v = try int("s3_parallelism") { s3.parallelism = max(1, v) }
        if let v = values["catalog_password"] { catalogPassword = v }
        if let v = try seconds("offline_after_seconds") { offlineAfterSeconds = v }
        if let v = try seconds("lagging_after_seconds") { laggingAfterSeconds = v }
        if let v = try seconds("dropping_window_seconds") { droppingWindowSeconds = v }
        if let v = try int("backlog_history_step_seconds") {
            guard (1...3600).contains(v) else { throw ConfigurationError("backlog_history_step_seconds must be 1 to 3600, got \(v)") }
            backlogHistoryStepSeconds = v
        }
        if let v = try int("backlog_history_seconds") {
            guard (60...(30 * 86_400)).contains(v) else { throw ConfigurationError("backlog_history_seconds must be 60 to 2592000 (30 days), got \(v)") }
            backlogHistorySeconds = v
        }
        if let v = values["metrics_token"] { metricsToken = v.isEmpty ? nil : v }
        func rate(_ k: String) throws -> Double? {
            guard let v = values[k] else { return nil }
            guard let d = Double(v), d >= 0, d.isFinite else { throw ConfigurationError("\(k) must be a non-negative number, got '\(v)'") }
            return d
        }
        if let v = try int("max_open_uploads_per_site") { limits.maxOpenUploadsPerSite = max(1, v) }
        if let v = try int("max_staged_bytes_per_site") { limits.maxStagedBytesPerSite = UInt64(v) }
        if let v = try int("max_staged_bytes") { limits.maxStagedBytes = UInt64(v) }
        if let v = try int("min_free_bytes") { limits.minFreeBytes = UInt64(v) }
        if let v = try int("max_metadata_bytes") { limits.maxMetadataBytes = max(256, v) }
        if let v = try rate("creations_per_second") { limits.creationsPerSecond = v }
        if let v = try rate("creation_burst") { limits.creationBurst = max(1, v) }
        if let v = try rate("heartbeats_per_second") { limits.heartbeatsPerSecond = v }
        if let v = try rate("heartbeat_burst") { limits.heartbeatBurst = max(1, v) }
        if let v = try int("max_requests_per_site") { limits.maxRequestsPerSite = max(1, v) }
        if let v = try rate("min_body_bytes_per_second") { limits.minBodyBytesPerSecond = v }
        if let v = try rate("body_rate_grace_seconds") { limits.bodyRateGraceSeconds = v }
        if let v = try int("max_commit_crashes") { commitAttempts.maxCrashes = max(1, v) }
        if let v = try int("max_commit_failures") { commitAttempts.maxFailures = max(1, v) }
        if let v = try int("recovery_concurrency") { recoveryConcurrency = max(1, v) }
        if let v = try int("max_buffered_body_bytes") { maxBufferedBodyBytes = max(BodyBudget.defaultBlockBytes, v) }
        if let v = values["tls_cert"] { tlsCert = v.isEmpty ? nil : v }
        if let v = values["tls_key"] { tlsKey = v.isEmpty ? nil : v }
        if let v = values["tls_client_ca"] { tlsClientCA = v.isEmpty ? nil : v }
        if let v = try int("token_grace_seconds") { tokenGraceSeconds = v }
        if let v = values["core_id"] {
            do { coreID = v.isEmpty ? nil : try CorePath.validateID(v) } catch let e as TributaryError { throw ConfigurationError("core_id: \(e.message)") }
        }
        if values.keys.contains(where: { $0.hasPrefix("forward_") }) {
            // Flags and the environment override single keys of [forward]: merge with what is set.
            var merged = forwardValues
            merged.merge(values.filter { $0.key.hasPrefix("forward_") }) { _, new in new }
            forward = try ForwardConfiguration.from(merged)
            forwardValues = merged
        }
        _ = try tlsFiles()
        _ = try hostAndPort()
        _ = try PartitionTemplate(partitionTemplate)
        _ = try lakeLocation()
        _ = try catalogLocation()
    }
}
