/// Prometheus text exposition (format 0.0.4), written in one place for both sides: the core's
/// per-site `/metrics` (`FleetMetrics`) and the edge's node_exporter textfile
/// (`EdgeStatus.prometheusText`). Each family is `# HELP`, `# TYPE`, then its samples,
/// `name{labels} value`; label values are escaped (backslash, double quote, line feed).
public struct PrometheusText: Sendable {
    public private(set) var text = ""

    public init() {}

    /// One family: its header and samples. `labels` is rendered (`site="a",lane="b"`, see
    /// `label`), empty for a sample without labels.
    public mutating func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
        header(name, type, help)
        for s in samples { sample(name, s.labels, s.value) }
    }

    /// A family's header alone, for families whose samples have several names (histograms).
    public mutating func header(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    public mutating func sample(_ name: String, _ labels: String, _ value: String) {
        text += labels.isEmpty ? "\(name) \(value)\n" : "\(name){\(labels)} \(value)\n"
    }

    /// `name="value"`, the value escaped.
    public static func label(_ name: String, _ value: String) -> String { "\(name)=\"\(escape(value))\"" }

    /// A label value escaped as the format asks.
    public static func escape(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "\\": o += "\\\\"
            case "\"": o += "\\\""
            case "\n": o += "\\n"
            default: o.append(c)
            }
        }
        return o
    }

    /// A float sample value: integral values without a fraction, infinities as `+Inf`/`-Inf`.
    public static func number(_ d: Double) -> String {
        if d.isInfinite { return d > 0 ? "+Inf" : "-Inf" }
        return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }
}
