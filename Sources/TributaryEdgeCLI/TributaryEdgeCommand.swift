import ArgumentParser
import CPosix
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import TributaryCommandLine
import TributaryEdge

@main
struct TributaryEdgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary-edge",
        abstract: "Takes local objects into a durable spool and ships them to a Tributary core over flaky links.",
        subcommands: [Run.self, Put.self, Status.self, RetryQuarantined.self])

    static func main() async {
        limitMallocArenas()
        await main(nil)
    }

    /// One malloc arena instead of glibc's 8 per core: the agent's threads (intake, batching,
    /// upload lanes, curl) allocate little and rarely at once, and every extra arena keeps its own
    /// freed memory. Measured with 5,000 small files (docs/PERFORMANCE.md): peak anonymous RSS
    /// 23.6 MiB with the default, 16.5 with 2 arenas, 12.6 with 1, no slower. `MALLOC_ARENA_MAX` in
    /// the environment still wins.
    ///
    /// The mmap and trim thresholds are fixed at 128 KiB (glibc's starting values): glibc otherwise
    /// raises them each time a large block (a zstd context, a read buffer) is freed, and from then on
    /// such blocks come from the heap and keep it large after a burst (docs/PERFORMANCE.md, "Anonymous
    /// memory under a burst"). `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_` or `GLIBC_TUNABLES`
    /// in the environment still win.
    static func limitMallocArenas() {
        #if canImport(Glibc)
        if getenv("MALLOC_ARENA_MAX") == nil { _ = tributary_malloc_arena_max(1) }
        if getenv("MALLOC_MMAP_THRESHOLD_") == nil, getenv("MALLOC_TRIM_THRESHOLD_") == nil, getenv("GLIBC_TUNABLES") == nil {
            _ = tributary_malloc_fixed_thresholds(128 << 10)
        }
        #endif
    }
}

/// Options every subcommand shares: the configuration and the spool.
struct CommonOptions: ParsableArguments {
    @Option(help: "TOML configuration file (env TRIBUTARY_CONFIG).")
    var config: String?

    @Option(help: "Spool directory (default ./tributary-data/edge/spool).")
    var spool: String?

    /// The configuration: file, environment, then these options and `extra` (a subcommand's); a
    /// setting that is not valid is a usage error (exit 64).
    func load(_ extra: [String: String?] = [:]) throws -> EdgeConfiguration {
        try CLI.usage { try CLI.settings(config: config, flags: extra.merging(["spool_dir": spool]) { $1 }) }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the agent until SIGTERM or SIGINT.")

    @OptionGroup var common: CommonOptions
    @Option(help: "This site's id (as registered at the core).") var site: String?
    @Option(help: "This site's token; visible to every local user in `ps`: prefer token_file or TRIBUTARY_TOKEN.") var token: String?
    @Option(help: "Core base URL (default http://127.0.0.1:8080); repeat it, or separate URLs by commas, for several cores in preference order (fail-over).") var core: [String] = []
    @Option(help: "Inbox directory to watch (default ./tributary-data/edge/inbox).") var inbox: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String?

    func run() async throws {
        let c = try common.load(["site": site, "token": token, "core_url": core.isEmpty ? nil : core.joined(separator: ","), "inbox": inbox, "log_level": logLevel])
        try CLI.usage { try c.validateForRun() }
        CLI.bootstrapLogging(c.logLevel)
        let logger = Logger(label: "tributary-edge")
        if token != nil {
            logger.warning("--token on the command line is visible to every local user (ps, /proc); use token_file or TRIBUTARY_TOKEN")
        }
        let agent = try EdgeAgent(configuration: c, logger: logger)
        try await CLI.runUntilSignalled(agent.services, gracePeriod: .seconds(10), logger: logger)
        logger.notice("tributary-edge stopped")
    }
}

struct Put: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take files into the spool; returns once they are durable (the files themselves are left alone, or removed with --move).")

    @OptionGroup var common: CommonOptions
    @Option(help: "Stream of the objects (default: the default stream).") var stream: String?
    @Option(help: "RFC 3339 capture time (default: each file's mtime).") var capturedAt: String?
    @Flag(help: "Remove each file once it is durable in the spool (on the spool's filesystem it is then taken by a hard link, not copied).") var move = false
    @Argument(help: "Files to enqueue.") var files: [String]

    func run() async throws {
        let c = try common.load()
        CLI.bootstrapLogging(c.logLevel)
        let logger = Logger(label: "tributary-edge")
        let result: IntakeResult
        do {
            result = try EdgePut.put(files: files, stream: stream ?? c.defaultStream, capturedAt: capturedAt, move: move, configuration: c, logger: logger)
        } catch let e as ConfigurationError {
            throw ValidationError(e.message)
        } catch let e as SpoolFullError {
            FileHandleErr.write("tributary-edge put: \(e)\n")
            throw ExitCode(3)
        }
        for o in result.accepted { print("accepted \(o.stream)/\(o.name) \(o.size) bytes sha256 \(o.sha256)") }
        for d in result.dropped { FileHandleErr.write("dropped (spool full, drop-oldest): \(d.stream)/\(d.name) \(d.size) bytes\n") }
        for r in result.refused { FileHandleErr.write("tributary-edge put: \(r)\n") }
        if !result.refused.isEmpty { throw ExitCode(1) }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the spool's backlog, limits, drops and link state (works while the agent runs).")

    @OptionGroup var common: CommonOptions
    @Flag(help: "JSON output.") var json = false

    func run() async throws {
        let c = try common.load()
        let s = try CLI.usage { try EdgeStatus.read(configuration: c) }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try enc.encode(s), as: UTF8.self))
        } else {
            print(s.rendered(), terminator: "")
        }
    }
}

struct RetryQuarantined: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry-quarantined",
        abstract: "Put quarantined objects back to pending, to be sent again (works while the agent runs).")

    @OptionGroup var common: CommonOptions
    @Flag(help: "Also objects set aside because their spool file failed its sha256 (checked again before sending).")
    var includingCorrupt = false

    func run() async throws {
        let c = try common.load()
        let n = try CLI.usage { try EdgeRetry.retryQuarantined(configuration: c, includingCorrupt: includingCorrupt) }
        print("\(n) quarantined object(s) back to pending")
    }
}

enum FileHandleErr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
    }
}

