import CoreMetrics
import Prometheus

/// The node's own metrics on a swift-prometheus registry: durations and counts of what this
/// process did. The per-site figures are not here: they come from the catalog at scrape time
/// (`FleetMetrics`). The executable bootstraps swift-metrics' `MetricsSystem` with `factory`, so
/// metrics that libraries record through swift-metrics land in the same registry and `/metrics`
/// serves them too. Tributary's own are made on the registry directly, which — unlike the
/// swift-metrics factory — gives them their `# HELP` lines (promtool's lint wants them).
///
///   tributary_core_commit_duration_seconds{kind}   histogram: validation, lake placement and catalog commit
///   tributary_core_upload_duration_seconds{kind}   histogram: creation to commit of each upload this node committed
///   tributary_core_uploads_committed_total{kind}   counter
///   tributary_core_uploads_rejected_total{reason}  counter: refused at creation or commit, by error code
///   tributary_core_heartbeats_total                counter: heartbeats recorded
///   tributary_core_body_buffer_bytes               gauge: PATCH body bytes lent by the gather budget now (BodyBudget)
///   tributary_core_body_buffer_waits_total         counter: PATCH body blocks that had to wait for the budget
///   tributary_core_s3_parts_total{when}            counter: multipart parts stored in the S3 lake, while the upload
///                                                  was still being received ("receiving") or at its commit ("commit")
///   tributary_core_s3_multipart_aborted_total{reason} counter: multipart uploads aborted, by reason
public final class NodeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory
    private let bodyBufferBytes: Prometheus.Gauge
    private let bodyBufferWaits: Prometheus.Counter

    static var commitDuration: MetricNameDescriptor {
        Self.descriptor("commit_duration", unit: "seconds", "Time to validate an upload, place its objects in the lake and commit it to the catalog.")
    }
    static var uploadDuration: MetricNameDescriptor {
        Self.descriptor("upload_duration", unit: "seconds", "Time from an upload's creation to its commit, for the uploads this node committed.")
    }
    static var committed: MetricNameDescriptor {
        Self.descriptor("uploads_committed", unit: "total", "Uploads this node committed.")
    }
    static var rejected: MetricNameDescriptor {
        Self.descriptor("uploads_rejected", unit: "total", "Uploads this node refused (at creation or commit), by error code.")
    }
    static var heartbeats: MetricNameDescriptor {
        Self.descriptor("heartbeats", unit: "total", "Edge heartbeats this node recorded.")
    }

    static var s3Parts: MetricNameDescriptor {
        Self.descriptor("s3_parts", unit: "total", "Multipart parts stored in the S3 lake: while the upload was still being received, or at its commit.")
    }
    static var s3Aborted: MetricNameDescriptor {
        Self.descriptor("s3_multipart_aborted", unit: "total", "Multipart uploads the S3 lake aborted, by reason.")
    }

    /// A metric of this node: `tributary_core_<name>_<unit>`.
    static func descriptor(_ name: String, unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "tributary", subsystem: "core", metricName: name, unitName: unit, helpText: help)
    }

    // (Descriptors are computed: the type is not Sendable.)
    static let commitBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300].map(seconds)
    static let uploadBuckets: [Duration] = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 86_400, 7 * 86_400].map(seconds)

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
        // Present from the start, so that rules and dashboards see zeros rather than nothing.
        _ = registry.makeCounter(descriptor: Self.heartbeats)
        bodyBufferBytes = registry.makeGauge(
            descriptor: Self.descriptor("body_buffer", unit: "bytes", "PATCH body bytes lent by the process-wide gather budget (max_buffered_body_bytes) now."))
        bodyBufferWaits = registry.makeCounter(
            descriptor: Self.descriptor("body_buffer_waits", unit: "total", "PATCH body blocks that waited for the gather budget (max_buffered_body_bytes)."))
    }

    /// What `BodyBudget` reports after each change.
    func bodyBuffer(bytesInUse: Int, waited: Bool) {
        bodyBufferBytes.set(Int64(bytesInUse))
        if waited { bodyBufferWaits.increment() }
    }

    func committed(kind: String, commitSeconds: Double, uploadSeconds: Double) {
        let labels = [("kind", kind)]
        registry.makeDurationHistogram(descriptor: Self.commitDuration, labels: labels, buckets: Self.commitBuckets)
            .record(Self.seconds(commitSeconds))
        registry.makeDurationHistogram(descriptor: Self.uploadDuration, labels: labels, buckets: Self.uploadBuckets)
            .record(Self.seconds(uploadSeconds))
        registry.makeCounter(descriptor: Self.committed, labels: labels).increment()
    }

    func rejected(reason: String) {
        registry.makeCounter(descriptor: Self.rejected, labels: [("reason", reason)]).increment()
    }

    func s3Part(shipped when: String) {
        registry.makeCounter(descriptor: Self.s3Parts, labels: [("when", when)]).increment()
    }

    func s3MultipartAborted(reason: String) {
        registry.makeCounter(descriptor: Self.s3Aborted, labels: [("reason", reason)]).increment()
    }

    func heartbeat() {
        registry.makeCounter(descriptor: Self.heartbeats).increment()
    }

    /// The registry in Prometheus text format.
    public func text() -> String { registry.emitToString() }

    static func seconds(_ s: Double) -> Duration { .nanoseconds(Int64(max(0, min(s, 9e9)) * 1e9)) }
}
