// A TOML reader for Tributary's configuration files, on the standard library only.
//
// What it reads (TOML 1.0, https://toml.io/en/v1.0.0): comments; key/value pairs with bare,
// quoted and dotted keys; `[table]` and `[[array.of.tables]]` headers; basic and literal strings,
// single- and multi-line, with every TOML 1.0 escape; decimal, hexadecimal, octal and binary
// integers (64-bit, with `_` between digits); floats (with `inf`, `nan`); booleans; arrays (over
// several lines, trailing comma, comments) and inline tables. Not read: offset date-times, local
// dates and times (no setting uses them) — refused with the position, like every other error.
//
// TOML's rules on defining things once are kept: a key is set once, a table is defined by one
// header, a table made by dotted keys cannot be reopened by a header, inline tables and static
// arrays are closed, `[[x]]` cannot extend a table and `[x]` cannot extend an array of tables.
//
// Bounded (TOMLLimits): document size, nesting depth (key segments, headers, arrays and inline
// tables together), string and key length, array length, keys per table. The parser never
// recurses deeper than `maxDepth`, reads bytes only through bounds-checked `peek`, and computes
// integers with overflow checks, so no input traps.

/// An error in a TOML document: 1-based line and column (columns count characters) and what is wrong.
public struct TOMLError: Error, CustomStringConvertible, Sendable, Equatable {
    public var line: Int
    public var column: Int
    public var message: String
    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// The ceilings a document must stay within.
public struct TOMLLimits: Sendable {
    /// The whole document.
    public var maxDocumentBytes = 1 << 20
    /// Tables within tables, arrays within arrays, and both within each other, counted together.
    public var maxDepth = 32
    /// One string value, after escapes are decoded.
    public var maxStringBytes = 64 * 1024
    /// One key segment.
    public var maxKeyBytes = 1024
    /// Elements of one array, tables of one array of tables.
    public var maxArrayElements = 10_000
    /// Keys of one table.
    public var maxKeysPerTable = 10_000
    public init() {}
}

public enum TOMLParser {
    /// The document's root table.
    public static func parse(_ text: String, limits: TOMLLimits = TOMLLimits()) throws -> TOMLTable {
        try parse(Array(text.utf8), limits: limits)
    }

    /// The document's root table; `bytes` must be UTF-8.
    public static func parse(_ bytes: [UInt8], limits: TOMLLimits = TOMLLimits()) throws -> TOMLTable {
        var p = Parser(bytes: bytes, limits: limits)
        return try p.document()
    }
}

// MARK: - The document being built

/// A table while the document is read: what defined it decides what may extend it.
private final class Node {
    var keys: [String] = []
    var entries: [String: Entry] = [:]
    /// Defined by a `[header]` (or is an element of `[[header]]`): no second header may define it.
    var header = false
    /// Made by a dotted key (`a.b = 1` makes `a`): dotted keys may add to it, a header may not define it.
    var dotted = false
    let depth: Int
    init(depth: Int, header: Bool = false, dotted: Bool = false) {
        self.depth = depth
        self.header = header
        self.dotted = dotted
    }
}

private enum Entry {
    /// A closed value: scalar, static array, inline table.
    case value(TOMLValue)
    case table(Node)
    case tables([Node])
}

private struct Parser {
    let bytes: [UInt8]
    let limits: TOMLLimits
    var pos = 0

    init(bytes: [UInt8], limits: TOMLLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    // MARK: Bytes

    func peek(_ offset: Int = 0) -> UInt8? {
        let (i, overflow) = pos.addingReportingOverflow(offset)
        guard !overflow, i >= 0, i < bytes.count else { return nil }
        return bytes[i]
    }

    func at(_ s: StaticString) -> Bool {
        var i = 0
        var match = true
        s.withUTF8Buffer { b in
            for c in b {
                if peek(i) != c { match = false; return }
                i += 1
            }
        }
        return match
    }

    mutating func advance(_ n: Int = 1) { pos = min(pos + n, bytes.count) }

    func error(_ message: String, at position: Int? = nil) -> TOMLError {
        let end = min(max(position ?? pos, 0), bytes.count)
        var line = 1
        var column = 1
        for b in bytes[0..<end] {
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
        }
        return TOMLError(line: line, column: column, message: message)
    }

    static func isControl(_ b: UInt8) -> Bool { (b < 0x20 && b != 0x09) || b == 0x7F }

    static func describe(_ b: UInt8?) -> String {
        guard let b else { return "the end of the document" }
        if b == 0x0A || b == 0x0D { return "the end of the line" }
        if isControl(b) { return "control character 0x" + String(b, radix: 16) }
        if b >= 0x80 { return "a non-ASCII character" }
        return "'" + String(UnicodeScalar(b)) + "'"
    }

    mutating func skipSpaces() { while let b = peek(), b == 0x20 || b == 0x09 { advance() } }

    /// At a newline: consumes it (`\n` or `\r\n`) and says true.
    mutating func newline() throws -> Bool {
        if peek() == 0x0A { advance(); return true }
        if peek() == 0x0D {
            guard peek(1) == 0x0A else { throw error("a carriage return must be followed by a line feed") }
            advance(2)
            return true
        }
        return false
    }

    /// At `#`: consumes the comment up to (not including) the line end.
    mutating func comment() throws {
        guard peek() == UInt8(ascii: "#") else { return }
        advance()
        while let b = peek(), b != 0x0A, b != 0x0D {
            guard !Self.isControl(b) else { throw error("\(Self.describe(b)) in a comment") }
            advance()
        }
    }

    /// Spaces, then an optional comment, then a line end or the end of the document.
    mutating func endOfLine(after what: String) throws {
        skipSpaces()
        try comment()
        if peek() == nil { return }
        guard try newline() else {
            throw error("expected the end of the line after \(what), found \(Self.describe(peek()))")
        }
    }

    /// Spaces, comments and newlines (inside arrays).
    mutating func skipBlank() throws {
        while true {
            skipSpaces()
            try comment()
            guard try newline() else { return }
        }
    }

    // MARK: Document

    mutating func document() throws -> TOMLTable {
        guard bytes.count <= limits.maxDocumentBytes else {
            throw TOMLError(line: 1, column: 1, message: "the document is larger than \(limits.maxDocumentBytes) bytes")
        }
        if let bad = Self.firstInvalidUTF8(bytes) { throw error("the document is not valid UTF-8", at: bad) }
        if at("\u{FEFF}") { advance(3) }
        let root = Node(depth: 0)
        var current = root
        while true {
            skipSpaces()
            guard let b = peek() else { break }
            if b == UInt8(ascii: "#") {
                try comment()
            } else if try newline() {
                continue
            } else if b == UInt8(ascii: "[") {
                current = try header(root)
            } else {
                try keyValue(into: current)
                try endOfLine(after: "a value")
            }
        }
        return Self.table(root)
    }

    static func table(_ node: Node) -> TOMLTable {
        var t = TOMLTable()
        for key in node.keys {
            switch node.entries[key] {
            case .value(let v): t.set(key, v)
            case .table(let n): t.set(key, .table(table(n)))
            case .tables(let ns): t.set(key, .array(ns.map { .table(table($0)) }))
            case nil: break
            }
        }
        return t
    }

    func add(_ key: String, _ entry: Entry, to node: Node, at position: Int) throws {
        guard node.keys.count < limits.maxKeysPerTable else {
            throw error("more than \(limits.maxKeysPerTable) keys in one table", at: position)
        }
        node.keys.append(key)
        node.entries[key] = entry
    }

    func child(of node: Node, at position: Int, header: Bool = false, dotted: Bool = false) throws -> Node {
        guard node.depth < limits.maxDepth else { throw error("tables nested deeper than \(limits.maxDepth)", at: position) }
        return Node(depth: node.depth + 1, header: header, dotted: dotted)
    }

    static func notATable(_ name: String, _ v: TOMLValue) -> String {
        if case .table = v { return "'\(name)' is an inline table; it cannot be extended" }
        return "'\(name)' is \(v.kind), not a table"
    }

    static func dotted(_ path: ArraySlice<String>) -> String { path.map(quotedKey).joined(separator: ".") }

    static func quotedKey(_ k: String) -> String {
        let bare = !k.isEmpty && k.utf8.allSatisfy { isBareKey($0) }
        return bare ? k : "\"" + k.unicodeScalars.map { $0 == "\"" || $0 == "\\" ? "\\" + String($0) : String($0) }.joined() + "\""
    }

    /// `[a.b]` or `[[a.b]]`; returns the table the following key/values go into.
    mutating func header(_ root: Node) throws -> Node {
        let start = pos
        advance()
        let array = peek() == UInt8(ascii: "[")
        if array { advance() }
        skipSpaces()
        let path = try key()
        skipSpaces()
        guard peek() == UInt8(ascii: "]") else { throw error("expected ']' to close the table header, found \(Self.describe(peek()))") }
        advance()
        if array {
            guard peek() == UInt8(ascii: "]") else { throw error("expected ']]' to close the array-of-tables header") }
            advance()
        }
        try endOfLine(after: "a table header")
        var node = root
        for (i, segment) in path.enumerated().dropLast() {
            switch node.entries[segment] {
            case nil:
                let c = try child(of: node, at: start)
                try add(segment, .table(c), to: node, at: start)
                node = c
            case .table(let c): node = c
            case .tables(let ns):
                guard let last = ns.last else { throw error("empty array of tables", at: start) }
                node = last
            case .value(let v):
                throw error(Self.notATable(Self.dotted(path[...i]), v), at: start)
            }
        }
        guard let last = path.last else { throw error("empty table header", at: start) }
        let name = Self.dotted(path[...])
        switch (node.entries[last], array) {
        case (nil, false):
            let c = try child(of: node, at: start, header: true)
            try add(last, .table(c), to: node, at: start)
            return c
        case (nil, true):
            let c = try child(of: node, at: start, header: true)
            try add(last, .tables([c]), to: node, at: start)
            return c
        case (.table(let c), false):
            guard !c.header else { throw error("table [\(name)] is defined twice", at: start) }
            guard !c.dotted else { throw error("table [\(name)] was already defined by dotted keys", at: start) }
            c.header = true
            return c
        case (.tables(var ns), true):
            guard ns.count < limits.maxArrayElements else {
                throw error("more than \(limits.maxArrayElements) tables in [[\(name)]]", at: start)
            }
            let c = try child(of: node, at: start, header: true)
            ns.append(c)
            node.entries[last] = .tables(ns)
            return c
        case (.tables, false):
            throw error("[\(name)] is an array of tables ([[\(name)]]), not a table", at: start)
        case (.table, true):
            throw error("[[\(name)]] is already a table, not an array of tables", at: start)
        case (.value(let v), _):
            throw error(Self.notATable(name, v), at: start)
        }
    }

    /// `key = value` into `node` (dotted keys make tables within it).
    mutating func keyValue(into node: Node, depth: Int = 0) throws {
        let start = pos
        let path = try key()
        skipSpaces()
        guard peek() == UInt8(ascii: "=") else { throw error("expected '=' after the key, found \(Self.describe(peek()))") }
        advance()
        skipSpaces()
        var target = node
        for (i, segment) in path.enumerated().dropLast() {
            switch target.entries[segment] {
            case nil:
                let c = try child(of: target, at: start, dotted: true)
                try add(segment, .table(c), to: target, at: start)
                target = c
            case .table(let c) where c.dotted && !c.header:
                target = c
            case .table, .tables:
                throw error("'\(Self.dotted(path[...i]))' is a table defined elsewhere; dotted keys cannot add to it", at: start)
            case .value(let v):
                throw error(Self.notATable(Self.dotted(path[...i]), v), at: start)
            }
        }
        guard let last = path.last else { throw error("empty key", at: start) }
        guard target.entries[last] == nil else { throw error("'\(Self.dotted(path[...]))' is defined twice", at: start) }
        let value = try self.value(depth: max(depth, target.depth) + 1)
        try add(last, .value(value), to: target, at: start)
    }

    // MARK: Keys

    static func isBareKey(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F
    }

    /// A key: segments separated by dots (spaces allowed around them).
    mutating func key() throws -> [String] {
        var path: [String] = []
        while true {
            guard path.count < limits.maxDepth else { throw error("a key of more than \(limits.maxDepth) parts") }
            let start = pos
            let segment: String
            switch peek() {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                guard !at("\"\"\""), !at("'''") else { throw error("a key cannot be a multi-line string") }
                segment = try string(limit: limits.maxKeyBytes)
            case let b? where Self.isBareKey(b):
                while let b = peek(), Self.isBareKey(b) {
                    guard pos - start < limits.maxKeyBytes else { throw error("a key longer than \(limits.maxKeyBytes) bytes", at: start) }
                    advance()
                }
                segment = String(decoding: bytes[start..<pos], as: UTF8.self)
            default:
                throw error("expected a key, found \(Self.describe(peek()))")
            }
            path.append(segment)
            skipSpaces()
            guard peek() == UInt8(ascii: ".") else { return path }
            advance()
            skipSpaces()
        }
    }

    // MARK: Values

    mutating func value(depth: Int) throws -> TOMLValue {
        guard depth <= limits.maxDepth else { throw error("values nested deeper than \(limits.maxDepth)") }
        switch peek() {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            return .string(try string(limit: limits.maxStringBytes))
        case UInt8(ascii: "["):
            return try array(depth: depth)
        case UInt8(ascii: "{"):
            return try inlineTable(depth: depth)
        case UInt8(ascii: "t") where at("true"):
            advance(4)
            return .boolean(true)
        case UInt8(ascii: "f") where at("false"):
            advance(5)
            return .boolean(false)
        case let b? where (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: "i") || b == UInt8(ascii: "n"):
            return try number()
        default:
            throw error("expected a value, found \(Self.describe(peek()))")
        }
    }

    mutating func array(depth: Int) throws -> TOMLValue {
        let start = pos
        advance()
        var items: [TOMLValue] = []
        while true {
            try skipBlank()
            if peek() == UInt8(ascii: "]") { advance(); return .array(items) }
            guard peek() != nil else { throw error("the array opened here is not closed", at: start) }
            guard items.count < limits.maxArrayElements else { throw error("an array of more than \(limits.maxArrayElements) elements", at: start) }
            items.append(try value(depth: depth + 1))
            try skipBlank()
            switch peek() {
            case UInt8(ascii: ","): advance()
            case UInt8(ascii: "]"): advance(); return .array(items)
            case nil: throw error("the array opened here is not closed", at: start)
            default: throw error("expected ',' or ']' in the array, found \(Self.describe(peek()))")
            }
        }
    }

    mutating func inlineTable(depth: Int) throws -> TOMLValue {
        let start = pos
        advance()
        let node = Node(depth: depth)
        skipSpaces()
        if peek() == UInt8(ascii: "}") { advance(); return .table(TOMLTable()) }
        while true {
            skipSpaces()
            guard let b = peek(), b != 0x0A, b != 0x0D else {
                throw error("an inline table must close on the line it opens", at: peek() == nil ? start : pos)
            }
            try keyValue(into: node, depth: depth)
            skipSpaces()
            switch peek() {
            case UInt8(ascii: ","): advance()
            case UInt8(ascii: "}"): advance(); return .table(Self.table(node))
            default: throw error("expected ',' or '}' in the inline table, found \(Self.describe(peek()))")
            }
        }
    }

    // MARK: Strings

    mutating func appendChecked(_ b: UInt8, to out: inout [UInt8], limit: Int, start: Int) throws {
        guard out.count < limit else { throw error("a string longer than \(limit) bytes", at: start) }
        out.append(b)
    }

    /// A string at `"` or `'`: basic (`"…"`, escapes), literal (`'…'`, none), or either multi-line
    /// (`"""…"""`, `'''…'''`: a newline right after the opening quotes is dropped; in a basic
    /// one, `\` at a line end joins the lines). Keys may not be multi-line (the caller checks).
    mutating func string(limit: Int) throws -> String {
        let start = pos
        let quote = peek() ?? 0
        let escapes = quote == UInt8(ascii: "\"")
        let multiline = escapes ? at("\"\"\"") : at("'''")
        var out: [UInt8] = []
        if multiline {
            advance(3)
            _ = try newline()
        } else {
            advance()
        }
        while true {
            guard let b = peek() else { throw error("the string opened here is not closed", at: start) }
            if multiline {
                if b == quote && peek(1) == quote && peek(2) == quote {
                    try closeMultiline(quote: quote, into: &out, limit: limit, start: start)
                    return String(decoding: out, as: UTF8.self)
                }
                if escapes && b == UInt8(ascii: "\\"), try lineEndingBackslash() { continue }
                if try newline() {
                    try appendChecked(0x0A, to: &out, limit: limit, start: start)
                    continue
                }
            } else {
                if b == quote { advance(); return String(decoding: out, as: UTF8.self) }
                guard b != 0x0A, b != 0x0D else { throw error("the string opened here is not closed on its line", at: start) }
            }
            if escapes && b == UInt8(ascii: "\\") {
                try escape(into: &out, limit: limit, start: start)
                continue
            }
            guard !Self.isControl(b) else {
                throw error("\(Self.describe(b)) in a string" + (escapes ? " (write it as an escape)" : ""))
            }
            try appendChecked(b, to: &out, limit: limit, start: start)
            advance()
        }
    }

    /// At `\` in a multi-line basic string: when only spaces follow it to the line end, consumes it,
    /// the line end and every space and newline after, and says true.
    mutating func lineEndingBackslash() throws -> Bool {
        var i = 1
        while let s = peek(i), s == 0x20 || s == 0x09 { i += 1 }
        guard peek(i) == 0x0A || (peek(i) == 0x0D && peek(i + 1) == 0x0A) else { return false }
        advance(i)
        while true {
            skipSpaces()
            guard try newline() else { return true }
        }
    }

    /// At three quotes closing a multi-line string: up to two more quotes belong to the content.
    mutating func closeMultiline(quote: UInt8, into out: inout [UInt8], limit: Int, start: Int) throws {
        var n = 0
        while peek(n) == quote { n += 1 }
        guard n <= 5 else { throw error("too many quotes closing a multi-line string") }
        for _ in 0..<(n - 3) { try appendChecked(quote, to: &out, limit: limit, start: start) }
        advance(n)
    }

    /// At `\`: one escape sequence, decoded into `out`.
    mutating func escape(into out: inout [UInt8], limit: Int, start: Int) throws {
        let at = pos
        advance()
        let simple: UInt8?
        switch peek() {
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "\""): simple = 0x22
        case UInt8(ascii: "\\"): simple = 0x5C
        case UInt8(ascii: "u"), UInt8(ascii: "U"): simple = nil
        default: throw error("unknown escape '\\\(peek().map { String(UnicodeScalar($0)) } ?? "")' (TOML has \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)", at: at)
        }
        if let simple {
            try appendChecked(simple, to: &out, limit: limit, start: start)
            advance()
            return
        }
        let digits = peek() == UInt8(ascii: "u") ? 4 : 8
        advance()
        var code: UInt32 = 0
        for i in 0..<digits {
            guard let b = peek(i), let d = Self.hexDigit(b) else {
                throw error("\\\(digits == 4 ? "u" : "U") needs \(digits) hexadecimal digits", at: at)
            }
            code = code << 4 | UInt32(d)  // at most 8 digits: fits 32 bits
        }
        guard let scalar = Unicode.Scalar(code) else {
            throw error("\\\(digits == 4 ? "u" : "U") escape of U+\(String(code, radix: 16, uppercase: true)) is not a Unicode scalar value", at: at)
        }
        advance(digits)
        for b in String(scalar).utf8 { try appendChecked(b, to: &out, limit: limit, start: start) }
    }

    static func hexDigit(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    // MARK: Numbers

    /// An integer or a float; dates and times are recognised only to be refused.
    mutating func number() throws -> TOMLValue {
        let start = pos
        while let b = peek(), Self.isBareKey(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: ".") || b == UInt8(ascii: ":") {
            guard pos - start < 128 else { throw error("a number longer than 128 characters", at: start) }
            advance()
        }
        let token = Array(bytes[start..<pos])
        let digitsAt: (Int, Int) -> Bool = { from, n in
            (from..<(from + n)).allSatisfy { $0 < token.count && token[$0] >= 0x30 && token[$0] <= 0x39 }
        }
        if (digitsAt(0, 4) && token.count > 4 && token[4] == UInt8(ascii: "-")) || (digitsAt(0, 2) && token.count > 2 && token[2] == UInt8(ascii: ":")) {
            throw error("dates and times are not accepted in Tributary's configuration (write the value as a string)", at: start)
        }
        var body = token[...]
        var negative = false
        if let s = body.first, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") {
            negative = s == UInt8(ascii: "-")
            body = body.dropFirst()
        }
        let text = String(decoding: body, as: UTF8.self)
        let location = error("", at: start)
        let invalid = { (why: String) in
            TOMLError(line: location.line, column: location.column, message: "'\(String(decoding: token, as: UTF8.self))' is not a valid number: \(why)")
        }
        if text == "inf" { return .float(negative ? -.infinity : .infinity) }
        if text == "nan" { return .float(.nan) }
        if body.count > 1, body.first == UInt8(ascii: "0"), let r = body.dropFirst().first, r == UInt8(ascii: "x") || r == UInt8(ascii: "o") || r == UInt8(ascii: "b") {
            guard token.count == body.count else { throw invalid("a sign is not allowed before 0x, 0o or 0b") }
            let radix = r == UInt8(ascii: "x") ? 16 : r == UInt8(ascii: "o") ? 8 : 2
            guard let digits = Self.digits(body.dropFirst(2), radix: radix) else { throw invalid("digits of base \(radix), '_' only between them") }
            return .integer(try integer(digits, radix: radix, negative: false, invalid: invalid))
        }
        if body.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            return .float(try float(body, negative: negative, invalid: invalid))
        }
        guard let digits = Self.digits(body, radix: 10) else { throw invalid("digits, '_' only between them") }
        guard digits.count == 1 || digits.first != UInt8(ascii: "0") else { throw invalid("leading zeros are not allowed") }
        return .integer(try integer(digits, radix: 10, negative: negative, invalid: invalid))
    }

    /// The digits of `s` without underscores, or nil when `s` is empty, holds a non-digit of
    /// `radix`, or has an underscore that is not between two digits.
    static func digits(_ s: ArraySlice<UInt8>, radix: Int) -> [UInt8]? {
        var out: [UInt8] = []
        var previousDigit = false
        for b in s {
            if b == UInt8(ascii: "_") {
                guard previousDigit else { return nil }
                previousDigit = false
                continue
            }
            guard let d = hexDigit(b), Int(d) < radix else { return nil }
            out.append(b)
            previousDigit = true
        }
        return previousDigit ? out : nil
    }

    func integer(_ digits: [UInt8], radix: Int, negative: Bool, invalid: (String) -> TOMLError) throws -> Int {
        var v = 0
        for b in digits {
            guard let d = Self.hexDigit(b) else { throw invalid("not a digit") }
            let (m, o1) = v.multipliedReportingOverflow(by: radix)
            let (s, o2) = negative ? m.subtractingReportingOverflow(Int(d)) : m.addingReportingOverflow(Int(d))
            guard !o1, !o2 else { throw invalid("out of the 64-bit range") }
            v = s
        }
        return v
    }

    /// `int-part [. digits] [e [+-] digits]`, at least one of the two parts.
    func float(_ body: ArraySlice<UInt8>, negative: Bool, invalid: (String) -> TOMLError) throws -> Double {
        let e = body.firstIndex { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        let mantissa = body[body.startIndex..<(e ?? body.endIndex)]
        let dot = mantissa.firstIndex(of: UInt8(ascii: "."))
        guard let whole = Self.digits(mantissa[mantissa.startIndex..<(dot ?? mantissa.endIndex)], radix: 10) else {
            throw invalid("digits before the '.' or exponent")
        }
        guard whole.count == 1 || whole.first != UInt8(ascii: "0") else { throw invalid("leading zeros are not allowed") }
        var text = (negative ? "-" : "") + String(decoding: whole, as: UTF8.self)
        if let dot {
            guard let fraction = Self.digits(mantissa[(dot + 1)...], radix: 10) else { throw invalid("digits after the '.'") }
            text += "." + String(decoding: fraction, as: UTF8.self)
        }
        if let e {
            var exponent = body[(e + 1)...]
            var sign = ""
            if let s = exponent.first, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") {
                sign = s == UInt8(ascii: "-") ? "-" : ""
                exponent = exponent.dropFirst()
            }
            guard let digits = Self.digits(exponent, radix: 10) else { throw invalid("digits in the exponent") }
            text += "e" + sign + String(decoding: digits, as: UTF8.self)
        }
        guard let d = Double(text), d.isFinite else { throw invalid("out of the range of a 64-bit float") }
        return d
    }

    // MARK: UTF-8

    /// The offset of the first byte that is not part of well-formed UTF-8, or nil.
    static func firstInvalidUTF8(_ b: [UInt8]) -> Int? {
        var i = 0
        while i < b.count {
            let c = b[i]
            let n: Int
            var lo: UInt8 = 0x80
            var hi: UInt8 = 0xBF
            switch c {
            case 0x00...0x7F: i += 1; continue
            case 0xC2...0xDF: n = 1
            case 0xE0: n = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: n = 2
            case 0xED: n = 2; hi = 0x9F
            case 0xF0: n = 3; lo = 0x90
            case 0xF1...0xF3: n = 3
            case 0xF4: n = 3; hi = 0x8F
            default: return i
            }
            for k in 1...n {
                guard i + k < b.count else { return i }
                let x = b[i + k]
                let (l, h): (UInt8, UInt8) = k == 1 ? (lo, hi) : (0x80, 0xBF)
                guard x >= l, x <= h else { return i }
            }
            i += n + 1
        }
        return nil
    }
}
