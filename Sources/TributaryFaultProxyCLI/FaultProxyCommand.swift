import ArgumentParser
import Glibc
import TributaryFaultProxy

/// `tributary-faultproxy`: parses flags into a `FaultProxyConfiguration`, starts the proxy and
/// runs its signal loop. Bad flags exit with status 2.
@main
struct FaultProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary-faultproxy",
        abstract: "A fault-injecting TCP proxy: cuts, stalls, throttles and flips bits, deterministically from a seed.",
        discussion: """
            Signals: SIGTERM/SIGINT write the final stats and exit 0; SIGUSR1 takes the link down (open \
            connections reset, new ones refused) until SIGUSR2 brings it up. See docs/FAULTPROXY.md.
            """)

    @Option(help: "HOST:PORT to accept clients on (port 0: any free port, see --port-file).") var listen: String
    @Option(help: "HOST:PORT to forward every connection to.") var target: String
    @Option(help: "Seed of every random choice (default 1).") var seed: String?
    @Option(help: "Chance 0..1 that a connection is cut (default 0).") var cutProbability: String?
    @Option(help: "Bytes delivered before a cut, MIN-MAX or N (default 65536-1048576).") var cutAfter: String?
    @Option(help: "Chance 0..1 that a connection stalls once (default 0).") var stallProbability: String?
    @Option(help: "Upstream bytes before the stall, MIN-MAX or N (default 0-1048576).") var stallAfter: String?
    @Option(help: "Stall length in ms, MIN-MAX or N (default 20000).") var stallMs: String?
    @Option(help: "Rate cap per connection and direction, bytes/s (default 0 = none).") var throttle: String?
    @Option(help: "Chance 0..1 per read chunk that one bit is flipped (default 0).") var flipProbability: String?
    @Option(help: "Bytes at the start of each connection never flipped (default 0).") var flipSkip: String?
    @Option(help: "Direction cuts and flips apply to: up, down or both (default up).") var direction: String?
    @Option(help: "JSON stats file, rewritten atomically (default none).") var stats: String?
    @Option(help: "File to write the bound port to once listening (default none).") var portFile: String?
    @Option(help: "info (fault events) or debug (also every connection) (default info).") var logLevel: String?

    /// The flags given, keyed as `FaultProxyConfiguration(flags:)` reads them.
    var flags: [String: String] {
        let all: [String: String?] = [
            "listen": listen, "target": target, "seed": seed, "cut-probability": cutProbability, "cut-after": cutAfter,
            "stall-probability": stallProbability, "stall-after": stallAfter, "stall-ms": stallMs, "throttle": throttle,
            "flip-probability": flipProbability, "flip-skip": flipSkip, "direction": direction, "stats": stats,
            "port-file": portFile, "log-level": logLevel,
        ]
        return all.compactMapValues { $0 }
    }

    static func main() {
        let configuration: FaultProxyConfiguration
        do {
            configuration = try FaultProxyConfiguration(flags: try parse().flags)
        } catch {
            // --help and --version exit 0 as usual; every other error is a bad flag: exit 2.
            if exitCode(for: error) == .success { exit(withError: error) }
            let shown: any Error = (error as? FaultProxyError).map { ValidationError($0.message) } ?? error
            FaultProxyLog.standardError(fullMessage(for: shown))
            Glibc.exit(2)
        }
        let signals = SignalWaiter(blocking: FaultProxy.controlSignals)
        let proxy = FaultProxy(configuration: configuration)
        do {
            try proxy.start()
        } catch {
            FaultProxyLog.standardError("tributary-faultproxy: error: \(error)")
            Glibc.exit(1)
        }
        proxy.serve(signals: signals)
        Glibc.exit(0)
    }
}
