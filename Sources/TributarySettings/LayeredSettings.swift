/// A component's configuration, read in layers each overriding the one before: documented
/// defaults, the TOML file and the environment (`load`), then command-line flags (`apply`, keyed by
/// the TOML names). `CoreConfiguration` and `EdgeConfiguration` both read this way; the shared
/// command-line helper (`TributaryCommandLine`) builds either from its options.
public protocol LayeredSettings: Sendable {
    /// Defaults, then `file` (nil: none), then the environment's `TRIBUTARY_*` variables.
    static func load(file: String?, environment: [String: String]) throws -> Self
    /// Values given by name (flags), each checked as the file's would be.
    mutating func apply(_ values: [String: String]) throws
}
