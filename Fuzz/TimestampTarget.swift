#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Timestamp target: the input is a timestamp string. What parses must format, and the
/// formatted form (what the core stores) must parse again to the same millisecond, and
/// `normalized` (the commit's fast path) must give the formatted form.
func fuzzTimestamp(_ input: UnsafeRawBufferPointer) {
    let s = String(decoding: input, as: UTF8.self)
    guard let d = try? Timestamp.parse(s) else {
        precondition((try? Timestamp.normalized(s)) == nil, "'\(s)' does not parse but normalizes")
        return
    }
    // The commit's fast path gives exactly what Foundation's parse and format give.
    let normalized = try? Timestamp.normalized(s)
    precondition(normalized == Timestamp.format(d), "'\(s)' normalizes to '\(normalized ?? "nil")', formats to '\(Timestamp.format(d))'")
    let formatted = Timestamp.format(d)
    _ = Timestamp.utcDay(d)
    let again: Double
    do {
        again = try Timestamp.parse(formatted).timeIntervalSince1970
    } catch {
        preconditionFailure("'\(s)' parses but its formatted form '\(formatted)' does not: \(error)")
    }
    precondition((again * 1000).rounded() == (d.timeIntervalSince1970 * 1000).rounded(), "'\(s)' → '\(formatted)' moved")
}
