/// An inclusive range of whole numbers written `MIN-MAX` (or a single `N`, meaning `N-N`), such as
/// the byte counts of `--cut-after` and the milliseconds of `--stall-ms`.
///
/// A value is drawn uniformly from the range by `SplitMix64.uniform(in:)`.
public struct ValueRange: Sendable, Hashable, CustomStringConvertible {
    public let lowerBound: UInt64
    public let upperBound: UInt64

    /// A range from `lowerBound` to `upperBound` inclusive; `lowerBound` must not exceed it.
    public init(_ lowerBound: UInt64, _ upperBound: UInt64) {
        precondition(lowerBound <= upperBound, "ValueRange \(lowerBound)-\(upperBound) is reversed")
        self.lowerBound = lowerBound
        self.upperBound = upperBound
    }

    /// The range holding only `value`.
    public init(exactly value: UInt64) { self.init(value, value) }

    /// `MIN-MAX` (or `N` when both are equal).
    public var description: String {
        lowerBound == upperBound ? "\(lowerBound)" : "\(lowerBound)-\(upperBound)"
    }

    public func contains(_ value: UInt64) -> Bool { value >= lowerBound && value <= upperBound }

    /// Parses `MIN-MAX` or `N`: decimal whole numbers, no sign, no units, MIN ≤ MAX.
    /// `flag` names the flag in the error (`--cut-after "10-x": "x" is not a whole number`).
    public static func parse(_ text: String, flag: String) throws -> ValueRange {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { throw FaultProxyError.invalid(flag, text, "expected MIN-MAX or a single number") }
        let parts = trimmed.split(separator: "-", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            return ValueRange(exactly: try number(String(parts[0]), flag: flag, text: text))
        case 2:
            guard !parts[0].isEmpty else {
                throw FaultProxyError.invalid(flag, text, "negative numbers are not allowed; expected MIN-MAX")
            }
            let low = try number(String(parts[0]), flag: flag, text: text)
            let high = try number(String(parts[1]), flag: flag, text: text)
            guard low <= high else { throw FaultProxyError.invalid(flag, text, "minimum \(low) is above maximum \(high)") }
            return ValueRange(low, high)
        default:
            throw FaultProxyError.invalid(flag, text, "expected MIN-MAX or a single number")
        }
    }

    private static func number(_ part: String, flag: String, text: String) throws -> UInt64 {
        let p = part.trimmingSpaces
        guard !p.isEmpty, p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw FaultProxyError.invalid(flag, text, "\"\(p)\" is not a whole number; expected MIN-MAX or a single number")
        }
        guard let n = UInt64(p) else { throw FaultProxyError.invalid(flag, text, "\(p) is too large") }
        return n
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs (no Foundation needed).
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
