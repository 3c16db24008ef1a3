import Glibc

/// How much the proxy logs.
public enum FaultProxyLogLevel: String, Sendable, CaseIterable {
    /// Fault events (cut, stall, flip), link changes, target connection failures.
    case info
    /// Also every connection's open and close.
    case debug
}

/// Where the proxy's log lines go: one line per event, `key=value` fields, e.g.
///
///     faultproxy conn=3 event=cut after_bytes=70112 direction=up
///
/// The default sink writes each line to stderr with a single `write(2)`, so lines from
/// different connection threads never interleave.
public struct FaultProxyLog: Sendable {
    public var level: FaultProxyLogLevel
    public var sink: @Sendable (String) -> Void

    public init(level: FaultProxyLogLevel = .info, sink: @escaping @Sendable (String) -> Void = FaultProxyLog.standardError) {
        self.level = level
        self.sink = sink
    }

    /// Writes `line` and a newline to stderr.
    public static let standardError: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        bytes.withUnsafeBytes { p in _ = write(2, p.baseAddress, p.count) }
    }

    /// A line that is always logged.
    func info(_ message: @autoclosure () -> String) { sink("faultproxy " + message()) }

    /// A line logged only at `debug`.
    func debug(_ message: @autoclosure () -> String) {
        if level == .debug { sink("faultproxy " + message()) }
    }
}
