/// An error shared by the edge and the core. A struct with a code, not a growing enum:
/// the core maps codes to HTTP statuses in one place, the edge decides what to retry by code.
public struct TributaryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable machine-readable code, sent as `error` in JSON error bodies.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidName = Code(rawValue: "invalid_name")
        public static let invalidStream = Code(rawValue: "invalid_stream")
        public static let invalidMetadata = Code(rawValue: "invalid_metadata")
        public static let invalidTimestamp = Code(rawValue: "invalid_timestamp")
        public static let unsupportedKind = Code(rawValue: "unsupported_kind")
        public static let unsupportedEncoding = Code(rawValue: "unsupported_encoding")
        public static let checksumMismatch = Code(rawValue: "checksum_mismatch")
        public static let sizeMismatch = Code(rawValue: "size_mismatch")
        public static let corruptCompression = Code(rawValue: "corrupt_compression")
        public static let corruptSegment = Code(rawValue: "corrupt_segment")
        public static let manifestMismatch = Code(rawValue: "manifest_mismatch")
        public static let duplicateName = Code(rawValue: "duplicate_name")
        public static let unknownReference = Code(rawValue: "unknown_reference")
        /// A segment names a zstd dictionary the core does not hold: send it, then create again.
        public static let unknownDictionary = Code(rawValue: "unknown_dictionary")
        /// A dictionary body that is not a zstd dictionary, or does not hash to its id.
        public static let invalidDictionary = Code(rawValue: "invalid_dictionary")
        public static let tooLarge = Code(rawValue: "too_large")
        /// A JSON request body (have-check, heartbeat) that is not the documented shape.
        public static let invalidBody = Code(rawValue: "invalid_body")
        public static let io = Code(rawValue: "io_error")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
