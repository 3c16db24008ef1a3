/// Everything a `FaultProxy` needs: where to listen, where to forward, which faults to inject.
///
/// Every fault is off by default, so a configuration with only `listen` and `target` is a plain
/// TCP forwarder. Reading the configuration from command-line flags lives in
/// `FaultProxyConfiguration+Flags.swift`.
public struct FaultProxyConfiguration: Sendable, Hashable {
    /// Address to accept clients on (`--listen`). Port 0 picks a free port; see `portFilePath`.
    public var listen: Endpoint
    /// Address every accepted connection is forwarded to (`--target`).
    public var target: Endpoint

    /// Seed of every random choice (`--seed`, default 1). Connection *i* draws its faults from
    /// its own generator derived from `seed` and *i* (see `FaultPlan`).
    public var seed: UInt64 = 1

    /// Chance, 0…1, that a connection is cut (`--cut-probability`, default 0).
    public var cutProbability: Double = 0
    /// Bytes delivered in `direction` before the cut, drawn uniformly (`--cut-after`,
    /// default 65536-1048576).
    public var cutAfter = ValueRange(65_536, 1_048_576)

    /// Chance, 0…1, that a connection stalls once (`--stall-probability`, default 0).
    public var stallProbability: Double = 0
    /// Upstream bytes delivered before the stall, drawn uniformly (`--stall-after`,
    /// default 0-1048576).
    public var stallAfter = ValueRange(0, 1_048_576)
    /// How long a stall lasts in milliseconds, drawn uniformly (`--stall-ms`, default 20000).
    public var stallMilliseconds = ValueRange(exactly: 20_000)

    /// Rate cap per connection and per direction in bytes per second (`--throttle`, default 0
    /// = none). A token bucket holding at most 1/50 s of traffic, so the rate is smooth.
    public var throttleBytesPerSecond: UInt64 = 0

    /// Chance, 0…1, per chunk read in a faulted direction that one random bit of one random byte
    /// of it is flipped (`--flip-probability`, default 0).
    public var flipProbability: Double = 0
    /// Bytes at the start of each connection (per direction) that are never flipped
    /// (`--flip-skip`, default 0), e.g. to spare HTTP request lines.
    public var flipSkip: UInt64 = 0

    /// Which way cuts and flips apply to (`--direction`, default `up`).
    public var direction: FaultDirection = .up

    /// JSON stats file, rewritten atomically (`--stats`, default none). See `FaultProxyStats`.
    public var statsPath: String?
    /// File the bound port is written to once listening (`--port-file`, default none).
    public var portFilePath: String?
    /// What goes to the log (`--log-level`, default `info`: fault events and link changes;
    /// `debug` adds every connection's open and close).
    public var logLevel: FaultProxyLogLevel = .info

    /// Bytes read at once per direction, which is also each direction's buffer (default 65536).
    /// A connection holds at most two such buffers, so memory stays flat under load.
    public var chunkSize = 65_536
    /// Connections open at once (default 1024). Beyond it new connections are accepted and
    /// closed at once, and counted as refused.
    public var maxConnections = 1024
    /// How long connecting to the target may take, in milliseconds (default 5000).
    public var connectTimeoutMilliseconds = 5000

    public init(listen: Endpoint, target: Endpoint) {
        self.listen = listen
        self.target = target
    }

    /// Checks the values a struct literal could get wrong (flags are checked as they are read).
    public func validate() throws {
        for (flag, p) in [("--cut-probability", cutProbability), ("--stall-probability", stallProbability), ("--flip-probability", flipProbability)] {
            guard p >= 0, p <= 1 else { throw FaultProxyError.invalid(flag, "\(p)", "must be a probability from 0 to 1") }
        }
        guard chunkSize >= 1, chunkSize <= 16 << 20 else {
            throw FaultProxyError(.invalidArgument, "chunk size \(chunkSize) must be from 1 byte to 16 MiB")
        }
        guard maxConnections >= 1 else { throw FaultProxyError(.invalidArgument, "max connections must be at least 1") }
        guard connectTimeoutMilliseconds >= 1 else { throw FaultProxyError(.invalidArgument, "connect timeout must be at least 1 ms") }
        guard stallMilliseconds.upperBound <= 86_400_000 else {
            throw FaultProxyError.invalid("--stall-ms", "\(stallMilliseconds)", "must be at most 86400000 (one day)")
        }
    }
}
