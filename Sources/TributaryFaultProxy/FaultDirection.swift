/// Which way of a connection cuts and bit flips apply to.
///
/// - `up`: client → target. A cut counts the bytes delivered to the target; flips hit bytes
///   read from the client.
/// - `down`: target → client. A cut counts the bytes delivered to the client; flips hit bytes
///   read from the target.
/// - `both`: a cut counts the bytes delivered either way (their sum); flips hit both ways, each
///   with its own random stream.
///
/// Stalls always count upstream bytes and stop both ways.
public enum FaultDirection: String, Sendable, CaseIterable {
    case up
    case down
    case both

    /// Whether faults apply to the client → target way.
    public var includesUp: Bool { self != .down }
    /// Whether faults apply to the target → client way.
    public var includesDown: Bool { self != .up }
}
