import Foundation
import Testing
import TributaryProtocol

@Suite("Timestamp")
struct TimestampTests {
    /// 2026-11-21T10:00:00Z as seconds since 1970.
    static let reference: TimeInterval = 1_795_255_200

    @Test(
        "RFC 3339 instants parse to the same moment",
        arguments: [
            "2026-11-21T10:00:00Z", "2026-11-21T10:00:00.000Z", "2026-11-21T12:00:00+02:00", "2026-11-21T08:00:00-02:00",
            "2026-11-21T10:00:00.000+00:00", "2026-11-21T15:30:00+05:30",
        ])
    func parse(text: String) throws {
        #expect(try Timestamp.parse(text).timeIntervalSince1970 == Self.reference)
    }

    @Test("fractional seconds are kept to the millisecond")
    func fraction() throws {
        let d = try Timestamp.parse("2026-11-21T10:00:00.123Z")
        #expect(abs(d.timeIntervalSince1970 - (Self.reference + 0.123)) < 0.0005)
        #expect(Timestamp.format(d) == "2026-11-21T10:00:00.123Z")
    }

    @Test(
        "non-RFC 3339 text is rejected",
        arguments: ["", "yesterday", "2026-11-21", "2026-11-21 10:00:00Z", "2026-13-01T00:00:00Z", "1795255200"])
    func rejected(text: String) {
        let error = #expect(throws: TributaryError.self) { _ = try Timestamp.parse(text) }
        #expect(error?.code == .invalidTimestamp)
    }

    @Test("a date-time without a zone is not an instant")
    func noZone() {
        let error = #expect(throws: TributaryError.self) { _ = try Timestamp.parse("2026-11-21T10:00:00") }
        #expect(error?.code == .invalidTimestamp)
    }

    @Test("format writes UTC with milliseconds")
    func format() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: Self.reference)) == "2026-11-21T10:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
    }

    @Test(
        "utcDay is the UTC calendar day, whatever the offset written",
        arguments: [
            ("2026-11-21T23:30:00-02:00", "2026-11-22"),
            ("2026-11-22T01:30:00+02:00", "2026-11-21"),
            ("2026-11-21T00:00:00Z", "2026-11-21"),
            ("2026-11-21T23:59:59.999Z", "2026-11-21"),
            ("2026-12-31T23:00:00-01:00", "2027-01-01"),
        ])
    func utcDay(text: String, day: String) throws {
        #expect(Timestamp.utcDay(try Timestamp.parse(text)) == day)
    }

    /// RFC 3339 fields have ranges (hour 00–23, minute 00–59, day within the month); a parser that
    /// rolls `T25:00` over into the next day files an object under a date the sender never wrote.
    @Test(
        "out-of-range fields are rejected, not rolled over",
        arguments: ["2026-11-21T24:00:00Z", "2026-11-21T25:00:00Z", "2026-11-21T10:60:00Z", "2026-02-30T00:00:00Z", "2026-11-31T00:00:00Z"])
    func outOfRange(text: String) {
        let error = #expect(throws: TributaryError.self) { _ = try Timestamp.parse(text) }
        #expect(error?.code == .invalidTimestamp)
    }

    /// A captured-at the edge sends with milliseconds must come back with the same milliseconds
    /// after the core normalizes it (`format(parse(s))`), for every millisecond value.
    @Test("format(parse(s)) keeps every millisecond value")
    func millisecondRoundTrip() throws {
        var changed: [String] = []
        for ms in 0..<1000 {
            let digits = String(ms)
            let s = "2026-11-21T10:00:00." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
            let again = Timestamp.format(try Timestamp.parse(s))
            if again != s { changed.append("\(s) → \(again)") }
        }
        let count = changed.count
        #expect(count == 0, "\(count) of 1000 changed, e.g. \(changed.prefix(3).joined(separator: ", "))")
    }

    @Test("format then parse is the identity at millisecond precision")
    func roundTrip() throws {
        let d = Date(timeIntervalSince1970: Self.reference + 12_345.5)
        let again = try Timestamp.parse(Timestamp.format(d))
        #expect(again == d)
        #expect(Timestamp.format(again) == "2026-11-21T13:25:45.500Z")
    }
}
