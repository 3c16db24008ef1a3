/// Reading a configuration from command-line flags, with errors that name the flag.
extension FaultProxyConfiguration {
    /// The flags `init(flags:)` reads, without their leading `--`.
    public static let flagNames: [String] = [
        "listen", "target", "seed", "cut-probability", "cut-after", "stall-probability", "stall-after", "stall-ms",
        "throttle", "flip-probability", "flip-skip", "direction", "stats", "port-file", "log-level",
    ]

    /// A configuration from flag values keyed by flag name without `--` (`["cut-after": "1000-2000"]`).
    /// `listen` and `target` are required; every other flag falls back to its documented default.
    public init(flags: [String: String]) throws {
        if let unknown = flags.keys.sorted().first(where: { !Self.flagNames.contains($0) }) {
            throw FaultProxyError(.invalidArgument, "unknown flag --\(unknown)")
        }
        guard let listen = flags["listen"] else { throw FaultProxyError(.invalidArgument, "--listen HOST:PORT is required") }
        guard let target = flags["target"] else { throw FaultProxyError(.invalidArgument, "--target HOST:PORT is required") }
        self.init(listen: try Endpoint.parse(listen, flag: "--listen"), target: try Endpoint.parse(target, flag: "--target"))
        guard self.target.port != 0 else { throw FaultProxyError.invalid("--target", target, "port 0 is not a port to connect to") }

        if let v = flags["seed"] { seed = try Self.wholeNumber(v, flag: "--seed") }
        if let v = flags["cut-probability"] { cutProbability = try Self.probability(v, flag: "--cut-probability") }
        if let v = flags["cut-after"] { cutAfter = try ValueRange.parse(v, flag: "--cut-after") }
        if let v = flags["stall-probability"] { stallProbability = try Self.probability(v, flag: "--stall-probability") }
        if let v = flags["stall-after"] { stallAfter = try ValueRange.parse(v, flag: "--stall-after") }
        if let v = flags["stall-ms"] { stallMilliseconds = try ValueRange.parse(v, flag: "--stall-ms") }
        if let v = flags["throttle"] { throttleBytesPerSecond = try Self.wholeNumber(v, flag: "--throttle") }
        if let v = flags["flip-probability"] { flipProbability = try Self.probability(v, flag: "--flip-probability") }
        if let v = flags["flip-skip"] { flipSkip = try Self.wholeNumber(v, flag: "--flip-skip") }
        if let v = flags["direction"] {
            guard let d = FaultDirection(rawValue: v.trimmingSpaces) else {
                throw FaultProxyError.invalid("--direction", v, "expected up, down or both")
            }
            direction = d
        }
        if let v = flags["stats"] {
            guard !v.isEmpty else { throw FaultProxyError.invalid("--stats", v, "expected a file path") }
            statsPath = v
        }
        if let v = flags["port-file"] {
            guard !v.isEmpty else { throw FaultProxyError.invalid("--port-file", v, "expected a file path") }
            portFilePath = v
        }
        if let v = flags["log-level"] {
            guard let l = FaultProxyLogLevel(rawValue: v.trimmingSpaces) else {
                throw FaultProxyError.invalid("--log-level", v, "expected info or debug")
            }
            logLevel = l
        }
        try validate()
    }

    /// A decimal whole number with no sign or unit.
    static func wholeNumber(_ text: String, flag: String) throws -> UInt64 {
        let t = text.trimmingSpaces
        guard !t.isEmpty, t.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw FaultProxyError.invalid(flag, text, "expected a whole number of 0 or more")
        }
        guard let n = UInt64(t) else { throw FaultProxyError.invalid(flag, text, "is too large") }
        return n
    }

    /// A decimal number from 0 to 1 (`0`, `0.25`, `1`, `1e-3`).
    static func probability(_ text: String, flag: String) throws -> Double {
        guard let p = Double(text.trimmingSpaces), p.isFinite else {
            throw FaultProxyError.invalid(flag, text, "expected a probability from 0 to 1, e.g. 0.25")
        }
        guard p >= 0, p <= 1 else { throw FaultProxyError.invalid(flag, text, "must be from 0 to 1") }
        return p
    }
}
