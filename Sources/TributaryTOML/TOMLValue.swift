// The values of a TOML document as Tributary's configuration reads them (TOMLParser.swift parses).
//
// This module depends on the standard library only: no Foundation, so the static edge binary does
// not carry Foundation, FoundationInternationalization and ICU (docs/PERFORMANCE.md, "Edge
// footprint"), and scripts/fuzz.sh can compile it into the fuzz binary as it is.

/// One TOML value. Offset date-times, local dates and times are not accepted (no setting uses
/// them); the parser says so with the position.
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    /// A static array (`[1, 2]`), or an array of tables (`[[source]]`), each element a `.table`.
    case array([TOMLValue])
    case table(TOMLTable)

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var int: Int? { if case .integer(let i) = self { return i } else { return nil } }
    public var double: Double? { if case .float(let d) = self { return d } else { return nil } }
    public var bool: Bool? { if case .boolean(let b) = self { return b } else { return nil } }
    public var array: [TOMLValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var table: TOMLTable? { if case .table(let t) = self { return t } else { return nil } }

    /// What the value is, for error messages ("must be a string, got an integer").
    public var kind: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// A TOML table: its keys in document order and their values.
public struct TOMLTable: Sendable, Equatable {
    /// The keys in the order the document defined them.
    public private(set) var keys: [String] = []
    private var values: [String: TOMLValue] = [:]

    public init() {}

    /// Builds a table from pairs in order; a repeated key is refused (nil).
    public init?(_ pairs: [(String, TOMLValue)]) {
        for (k, v) in pairs {
            guard values[k] == nil else { return nil }
            keys.append(k)
            values[k] = v
        }
    }

    public subscript(key: String) -> TOMLValue? { values[key] }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// Sets `key` (appended to `keys` when new).
    mutating func set(_ key: String, _ value: TOMLValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }
}
