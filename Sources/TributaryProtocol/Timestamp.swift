#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// RFC 3339 timestamps as they travel in metadata, manifests and receipts.
public enum Timestamp {
    /// Parses an RFC 3339 instant (`2026-11-21T10:00:00Z`, optional fraction, `Z` or `±hh:mm`).
    public static func parse(_ s: String) throws -> Date {
        if let d = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(s) { return d }
        if let d = try? Date.ISO8601FormatStyle().parse(s) { return d }
        throw TributaryError(.invalidTimestamp, "'\(Names.printable(s))' is not an RFC 3339 timestamp")
    }

    /// Formats as UTC with milliseconds: `2026-11-21T10:00:00.123Z`.
    public static func format(_ d: Date) -> String {
        d.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// The UTC calendar date `YYYY-MM-DD` of `d`.
    public static func utcDay(_ d: Date) -> String {
        String(format(d).prefix(10))
    }
}
