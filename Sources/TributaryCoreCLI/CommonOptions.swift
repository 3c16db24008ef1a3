import ArgumentParser
import CoreMetrics
import Logging
import TributaryCommandLine
import TributaryCore

/// Options every subcommand shares: where the configuration and the data live.
struct CommonOptions: ParsableArguments {
    @Option(help: "TOML configuration file (env TRIBUTARY_CONFIG).")
    var config: String?

    @Option(help: "Data directory: lake/, catalog.sqlite, staging/, admin.token (default ./tributary-data/core).")
    var dataDir: String?

    @Option(help: "Catalog: postgres://USER[:PASSWORD]@HOST[:PORT]/DB, or a SQLite file (default <data-dir>/catalog.sqlite).")
    var catalog: String?

    /// The configuration: file, environment, then these options and `extra` (a subcommand's).
    func load(_ extra: [String: String?] = [:]) throws -> CoreConfiguration {
        try CLI.settings(config: config, flags: extra.merging(["data_dir": dataDir, "catalog": catalog]) { $1 })
    }
}
