import Synchronization

/// The site token every client of the agent sends, shared so that a new one read from
/// `token_file` on SIGHUP (`EdgeAgent`) is used from the next request on.
public final class SiteToken: Sendable {
    private let value: Mutex<String>

    public init(_ token: String) { value = Mutex(token) }

    public var current: String { value.withLock { $0 } }

    package func replace(_ token: String) { value.withLock { $0 = token } }
}
