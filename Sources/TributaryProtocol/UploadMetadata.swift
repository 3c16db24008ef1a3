#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The tus `Upload-Metadata` header: comma-separated `key base64(value)` pairs; a key may stand
/// alone (empty value). Keys are ASCII without spaces or commas and must be unique.
public struct UploadMetadata: Sendable, Equatable {
    public private(set) var values: [String: String]

    public init(_ values: [String: String] = [:]) {
        self.values = values
    }

    public subscript(key: String) -> String? {
        get { values[key] }
        set { values[key] = newValue }
    }

    public static func parse(_ header: String) throws -> UploadMetadata {
        var values: [String: String] = [:]
        let trimmed = trimSpaces(Substring(header))
        if trimmed.isEmpty { return UploadMetadata() }
        for pair in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = trimSpaces(pair).split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 1 || parts.count == 2, let key = parts.first.map(String.init), !key.isEmpty else {
                throw TributaryError(.invalidMetadata, "malformed Upload-Metadata pair '\(Names.printable(String(pair)))'")
            }
            guard key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw TributaryError(.invalidMetadata, "Upload-Metadata key '\(Names.printable(key))' is not printable ASCII")
            }
            var value = ""
            if parts.count == 2 {
                guard let data = Data(base64Encoded: String(parts[1])), let s = String(data: data, encoding: .utf8) else {
                    throw TributaryError(.invalidMetadata, "Upload-Metadata value of '\(key)' is not base64 of UTF-8 text")
                }
                value = s
            }
            guard values[key] == nil else {
                throw TributaryError(.invalidMetadata, "Upload-Metadata key '\(key)' appears twice")
            }
            values[key] = value
        }
        return UploadMetadata(values)
    }

    /// The header value, keys sorted.
    public var headerValue: String {
        values.sorted { $0.key < $1.key }.map { key, v in
            v.isEmpty ? key : key + " " + Data(v.utf8).base64EncodedString()
        }.joined(separator: ",")
    }

    private static func trimSpaces(_ s: Substring) -> Substring {
        var t = s
        while let f = t.first, f == " " || f == "\t" { t.removeFirst() }
        while let l = t.last, l == " " || l == "\t" { t.removeLast() }
        return t
    }
}
