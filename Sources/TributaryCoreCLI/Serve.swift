import ArgumentParser
import CoreMetrics
import Logging
import TributaryCommandLine
import TributaryCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the core HTTP server until SIGTERM or SIGINT.")

    @OptionGroup var common: CommonOptions
    @Option(help: "host:port to listen on (default 127.0.0.1:8080).") var listen: String?
    @Option(help: "Lake: a directory or s3://BUCKET[/PREFIX] (default <data-dir>/lake).") var lake: String?
    @Option(help: "Hive partition template (default stream={stream}/site={site}/date={date}).") var partitionTemplate: String?
    @Option(help: "Largest upload in bytes (default 16 GiB).") var maxUploadBytes: String?
    @Option(help: "Seconds an upload may take to complete before it expires (default 604800).") var uploadExpiry: String?
    @Option(help: "Seconds between expiry sweeps (default 60).") var sweepInterval: String?
    @Option(help: "Seconds a silent connection is kept (default 60).") var idleTimeout: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String?
    @Option(help: "PEM certificate chain: serve HTTPS (TLS 1.2+) instead of HTTP; re-read on SIGHUP (env TRIBUTARY_TLS_CERT).")
    var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert (env TRIBUTARY_TLS_KEY).") var tlsKey: String?
    @Option(help: "PEM CA bundle: require client certificates signed by it (mutual TLS; env TRIBUTARY_TLS_CLIENT_CA).")
    var tlsClientCa: String?
    @OptionGroup(title: "Forwarding") var forward: ForwardOptions

    func run() async throws {
        let c = try common.load([
            "listen": listen, "lake": lake, "partition_template": partitionTemplate, "max_upload_bytes": maxUploadBytes,
            "upload_expiry_seconds": uploadExpiry, "sweep_interval_seconds": sweepInterval, "idle_timeout_seconds": idleTimeout,
            "log_level": logLevel, "tls_cert": tlsCert, "tls_key": tlsKey, "tls_client_ca": tlsClientCa,
        ].merging(forward.values) { a, _ in a })
        CLI.bootstrapLogging(c.logLevel)
        // Metrics of any library go to the registry /metrics serves.
        let metrics = NodeMetrics()
        MetricsSystem.bootstrap(metrics.factory)
        let logger = Logger(label: "tributary-core")
        let app = try await buildApplication(configuration: c, logger: logger, metrics: metrics) { port in
            logger.notice("tributary-core listening", metadata: ["address": "\(c.listen)", "port": "\(port)", "data_dir": "\(c.dataDirectory)"])
        }
        // A client stalled mid-body must not hold the process past the grace period; its upload
        // loses nothing durable (HEAD reports the fsync'd offset after restart).
        try await CLI.runUntilSignalled([app], gracePeriod: .seconds(5), logger: logger)
        logger.notice("tributary-core stopped")
    }
}
