/// What the proxy has done so far; written as JSON to `--stats` with exactly these keys:
///
///     {"connections": 3, "active": 1, "bytes_up": 1048576, "bytes_down": 512, "cuts": 1,
///      "stalls": 0, "flips": 4, "refused": 0, "link": "up"}
///
/// - `connections`: connections accepted and forwarded (refused ones not included)
/// - `active`: of those, how many are open now
/// - `bytes_up`: bytes delivered to the target; `bytes_down`: bytes delivered to clients
/// - `cuts`, `stalls`, `flips`: fault events injected
/// - `refused`: connections accepted and closed at once (link down, or too many open)
/// - `link`: `"up"`, or `"down"` between SIGUSR1 and SIGUSR2
public struct FaultProxyStats: Sendable, Hashable {
    public var connections: UInt64 = 0
    public var active: UInt64 = 0
    public var bytesUp: UInt64 = 0
    public var bytesDown: UInt64 = 0
    public var cuts: UInt64 = 0
    public var stalls: UInt64 = 0
    public var flips: UInt64 = 0
    public var refused: UInt64 = 0
    public var linkUp = true

    public init() {}

    /// One line of JSON, keys in the documented order, ending in a newline.
    public var json: String {
        "{\"connections\": \(connections), \"active\": \(active), \"bytes_up\": \(bytesUp), \"bytes_down\": \(bytesDown), "
            + "\"cuts\": \(cuts), \"stalls\": \(stalls), \"flips\": \(flips), \"refused\": \(refused), "
            + "\"link\": \"\(linkUp ? "up" : "down")\"}\n"
    }
}
