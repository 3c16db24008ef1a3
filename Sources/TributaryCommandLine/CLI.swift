import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributarySettings

/// The command-line plumbing `tributary-core` and `tributary-edge` share, so each executable's
/// `@main` is only its options, building the application (or agent) from them, and running it
/// (the Hummingbird template's shape):
/// - `settings`: options → the settings map → the configuration (file, environment, flags),
/// - `bootstrapLogging` / `stderrLogger` (CLI+Logging.swift),
/// - `runUntilSignalled`: the services in one `ServiceGroup` with graceful shutdown on SIGTERM
///   and SIGINT, bounded by a grace period (CLI+Services.swift),
/// - `usage`: a refusal of the input re-thrown as a usage error (exit 64, EX_USAGE).
public enum CLI {
    /// The configuration from `--config` (or `TRIBUTARY_CONFIG`), the environment, then the flags
    /// that were given (nil: not given), keyed by their TOML names.
    public static func settings<S: LayeredSettings>(
        _: S.Type = S.self, config: String?, flags: [String: String?]
    ) throws -> S {
        let env = ProcessInfo.processInfo.environment
        var s = try S.load(file: config ?? env["TRIBUTARY_CONFIG"], environment: env)
        try s.apply(flags.compactMapValues { $0 })
        return s
    }

    /// Runs `body`; a `ConfigurationError` it throws becomes a usage error carrying its message.
    public static func usage<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ConfigurationError { throw ValidationError(e.message) }
    }
}
