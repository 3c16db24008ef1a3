#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// RFC 3339 timestamps as they travel in metadata, manifests and receipts.
public enum Timestamp {
    /// Parses an RFC 3339 instant (`2026-11-21T10:00:00Z`, optional fraction, `Z` or `±hh:mm`).
    public static func parse(_ s: String) throws -> Date {
        try checkFieldRanges(s)
        if let d = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(s) { return d }
        if let d = try? Date.ISO8601FormatStyle().parse(s) { return d }
        throw TributaryError(.invalidTimestamp, "'\(Names.printable(s))' is not an RFC 3339 timestamp")
    }

    /// Formats as UTC with milliseconds: `2026-11-21T10:00:00.123Z` (rounded to the nearest
    /// millisecond, so `format(parse(s))` keeps the milliseconds of `s`).
    public static func format(_ d: Date) -> String {
        let ms = (d.timeIntervalSince1970 * 1000).rounded()
        let whole = Date(timeIntervalSince1970: (ms / 1000).rounded(.down))
        let frac = Int(ms - (whole.timeIntervalSince1970 * 1000))
        let base = whole.formatted(Date.ISO8601FormatStyle())  // 2026-11-21T10:00:00Z
        let digits = String(frac)
        return String(base.dropLast()) + "." + String(repeating: "0", count: max(0, 3 - digits.count)) + digits + "Z"
    }

    /// `format(parse(s))`, without Foundation's parser and formatter when `s` is already in the
    /// form `format` writes (`YYYY-MM-DDTHH:MM:SS.mmmZ`, in range, years 2000–9999, no leap second) — the form
    /// every edge sends, checked for each object of a segment at commit.
    public static func normalized(_ s: String) throws -> String {
        try checkFieldRanges(s)
        let u = s.utf8
        if u.count == 24, u.last == UInt8(ascii: "Z") {
            var i = 0
            var canonical = true
            for c in u {
                switch i {
                case 0: canonical = c >= UInt8(ascii: "2")  // years 2000–9999: no calendar reform in reach
                case 10: canonical = canonical && c == UInt8(ascii: "T")
                case 19: canonical = canonical && c == UInt8(ascii: ".")
                case 17: canonical = canonical && c <= UInt8(ascii: "5")  // seconds ≤ 59: no leap second
                case 20, 21, 22: canonical = canonical && c >= 0x30 && c <= 0x39
                default: break
                }
                i += 1
            }
            if canonical { return s }
        }
        return format(try parse(s))
    }

    /// Rejects out-of-range fields that Foundation would silently roll over (`T24:00`, `02-30`).
    /// Expects `YYYY-MM-DDTHH:MM:SS…` with `Z` or a `±HH:MM` offset.
    static func checkFieldRanges(_ s: String) throws {
        let u = Array(s.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= u.count else { return nil }
            var v = 0
            for c in u[from..<(from + len)] {
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        let bad = TributaryError(.invalidTimestamp, "'\(Names.printable(s))' is not an RFC 3339 timestamp")
        guard u.count >= 20, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T") || u[10] == UInt8(ascii: "t"),
            u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":"),
            let year = num(0, 4), let month = num(5, 2), let day = num(8, 2), let hour = num(11, 2), let minute = num(14, 2),
            let second = num(17, 2)
        else { throw bad }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), (1...days[month - 1]).contains(day), hour <= 23, minute <= 59, second <= 60 else { throw bad }
        // The zone: Z, or ±HH:MM with HH ≤ 23 and MM ≤ 59.
        var i = 19
        if i < u.count && u[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < u.count && u[i] >= 0x30 && u[i] <= 0x39 { i += 1 }
            guard i > start else { throw bad }
        }
        if i == u.count - 1 && (u[i] == UInt8(ascii: "Z") || u[i] == UInt8(ascii: "z")) { return }
        guard i == u.count - 6, u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-"), u[i + 3] == UInt8(ascii: ":"),
            let oh = num(i + 1, 2), let om = num(i + 4, 2), oh <= 23, om <= 59
        else { throw bad }
    }

    /// The UTC calendar date `YYYY-MM-DD` of `d`.
    public static func utcDay(_ d: Date) -> String {
        String(format(d).prefix(10))
    }
}
