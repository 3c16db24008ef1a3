/// A reading position in bytes that came from a site. Like swift-nio's `ByteBuffer` readers,
/// every read answers `nil` when the bytes are not there and moves the cursor only when it
/// succeeds; callers turn `nil` into a `TributaryError`. Nothing here can trap on any input.
struct ByteCursor {
    private let bytes: ArraySlice<UInt8>
    /// Index into `bytes` of the next byte to read (`bytes.startIndex...bytes.endIndex`).
    private(set) var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - position }
    var isAtEnd: Bool { position >= bytes.endIndex }

    /// The next `length` bytes, or nil when fewer remain (or `length` is negative).
    mutating func readSlice(length: Int) -> ArraySlice<UInt8>? {
        guard length >= 0, length <= remaining else { return nil }
        let s = bytes[position..<(position + length)]
        position += length
        return s
    }

    /// The bytes before the next `delimiter`, consuming the delimiter too; nil when there is no
    /// `delimiter` within `limit` bytes.
    mutating func readUntil(_ delimiter: UInt8, limit: Int) -> ArraySlice<UInt8>? {
        let window = bytes[position..<(position + min(max(limit, 0), remaining))]
        guard let d = window.firstIndex(of: delimiter) else { return nil }
        let s = bytes[position..<d]
        position = d + 1
        return s
    }

    /// A non-negative decimal number of at most `maxDigits` ASCII digits, as the whole of
    /// `digits`; nil for anything else (sign, spaces, empty, too long).
    static func decimal(_ digits: ArraySlice<UInt8>, maxDigits: Int = 18) -> Int? {
        guard !digits.isEmpty, digits.count <= maxDigits else { return nil }
        var v = 0
        for c in digits {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            // 18 digits stay below Int.max, so this cannot overflow; checked all the same.
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(c - 0x30))
            guard !o1, !o2 else { return nil }
            v = s
        }
        return v
    }
}
