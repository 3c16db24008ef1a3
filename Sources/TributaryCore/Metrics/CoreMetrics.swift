import CoreMetrics
import Prometheus

/// The node's own metrics (swift-metrics handlers on a swift-prometheus registry): durations
/// and counts of what this process did. The per-site figures are not here: they come from the
/// catalog at scrape time (`FleetMetrics`). The executable may bootstrap `MetricsSystem` with
/// `factory`, so that metrics of libraries land in the same registry and `/metrics` shows them.
///
///   tributary_core_commit_duration_seconds{kind}   histogram: validation, lake placement and catalog commit
///   tributary_core_upload_duration_seconds{kind}   histogram: creation to commit of each upload this node committed
///   tributary_core_uploads_committed_total{kind}   counter
///   tributary_core_uploads_rejected_total{reason}  counter: refused at creation or commit, by error code
///   tributary_core_heartbeats_total                counter: heartbeats recorded
public final class CoreMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    static let commitDuration = "tributary_core_commit_duration_seconds"
    static let uploadDuration = "tributary_core_upload_duration_seconds"

    public init() {
        registry = PrometheusCollectorRegistry()
        var f = PrometheusMetricsFactory(registry: registry)
        f.durationHistogramBuckets = [
            Self.commitDuration: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300].map { .milliseconds(Int64($0 * 1000)) },
            Self.uploadDuration: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400].map { .milliseconds(Int64($0 * 1000)) },
        ]
        factory = f
    }

    func committed(kind: String, commitSeconds: Double, uploadSeconds: Double) {
        Timer(label: Self.commitDuration, dimensions: [("kind", kind)], factory: factory).recordNanoseconds(Self.nanos(commitSeconds))
        Timer(label: Self.uploadDuration, dimensions: [("kind", kind)], factory: factory).recordNanoseconds(Self.nanos(uploadSeconds))
        Counter(label: "tributary_core_uploads_committed_total", dimensions: [("kind", kind)], factory: factory).increment()
    }

    func rejected(reason: String) {
        Counter(label: "tributary_core_uploads_rejected_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    func heartbeat() {
        Counter(label: "tributary_core_heartbeats_total", factory: factory).increment()
    }

    /// The registry in Prometheus text format.
    public func text() -> String { registry.emitToString() }

    static func nanos(_ s: Double) -> Int64 { Int64(max(0, min(s, 9e9)) * 1e9) }
}
