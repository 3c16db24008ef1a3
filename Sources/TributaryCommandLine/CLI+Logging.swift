import Logging

extension CLI {
    /// Every logger of the process writes to stderr at `level` (trace … critical; anything else:
    /// info). Only executables bootstrap logging; libraries take a `Logger`.
    public static func bootstrapLogging(_ level: String) {
        let l = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = l
            return h
        }
    }

    /// A logger to stderr at `level` without bootstrapping, for commands whose stdout is their
    /// answer (`sites list`): the libraries' warnings and errors still reach the operator.
    public static func stderrLogger(label: String, level: Logger.Level = .warning) -> Logger {
        Logger(label: label) { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}
