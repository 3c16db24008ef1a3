/// An error of the fault proxy: a stable code and a message meant for the person who ran it.
///
/// Flag errors name the flag and the value (`--cut-after "9-3": minimum 9 is above maximum 3`),
/// system errors name the call and `strerror(errno)`.
public struct FaultProxyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; stable, for tests and scripts.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A flag or configuration value is malformed or out of range.
        public static let invalidArgument = Code(rawValue: "invalid_argument")
        /// A socket, thread or file call failed.
        public static let system = Code(rawValue: "system")
        /// `start()` was called twice, or after `stop()`.
        public static let state = Code(rawValue: "state")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func invalid(_ flag: String, _ value: String, _ reason: String) -> FaultProxyError {
        FaultProxyError(.invalidArgument, "\(flag) \"\(value)\": \(reason)")
    }

    static func system(_ what: String, errno code: Int32) -> FaultProxyError {
        FaultProxyError(.system, "\(what): \(SystemError.describe(code))")
    }
}
