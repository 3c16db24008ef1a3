/// `s3://BUCKET[/PREFIX]`: the bucket and an optional key prefix under which the lake lies
/// (same layout as a lake directory: `<prefix>/stream=…`, `<prefix>/_tributary/…`).
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    /// Empty, or a prefix without leading or trailing `/`.
    public var prefix: String

    public init(_ text: String) throws {
        guard text.hasPrefix("s3://") else { throw ConfigurationError("lake '\(text)' is not an s3:// URL") }
        let rest = text.dropFirst(5)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        bucket = String(parts[0])
        prefix = parts.count > 1 ? String(parts[1]) : ""
        while prefix.hasSuffix("/") { prefix.removeLast() }
        let bucketChars = bucket.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2e
        }
        guard (3...63).contains(bucket.count), bucketChars else {
            throw ConfigurationError("lake '\(text)': bucket name '\(bucket)' is not valid (3-63 of a-z 0-9 . -)")
        }
        guard !prefix.hasPrefix("/"), !prefix.contains("//"), !prefix.split(separator: "/").contains("..") else {
            throw ConfigurationError("lake '\(text)': prefix '\(prefix)' is not valid")
        }
    }

    /// The object key of a lake key.
    public func objectKey(_ lakeKey: String) -> String { prefix.isEmpty ? lakeKey : prefix + "/" + lakeKey }

    public var description: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }
}
