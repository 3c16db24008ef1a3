/// Validation of stream, site and object names, and their sanitized forms for lake keys.
///
/// Rules (docs/PROTOCOL.md, "Names"):
/// - A stream or site id is 1–64 characters of `[A-Za-z0-9_.-]`, starting with a letter or digit.
/// - An object name is a relative path of 1–1024 UTF-8 bytes whose `/`-separated components are
///   1–255 bytes, not `.` or `..`, with no control characters (U+0000–U+001F, U+007F) and no
///   backslash. A leading `/` (absolute path) is refused.
/// - In lake keys each name component is sanitized: bytes outside `[A-Za-z0-9._-]` become `_`,
///   and a leading `.` becomes `_` (no hidden files), so keys are safe on every filesystem and S3.
public enum Names {
    public static func validateIdentifier(_ s: String, what: String, code: TributaryError.Code) throws {
        let u = Array(s.utf8)
        guard !u.isEmpty else { throw TributaryError(code, "\(what) is empty") }
        guard u.count <= 64 else { throw TributaryError(code, "\(what) is longer than 64 characters") }
        guard isAlnum(u[0]) else { throw TributaryError(code, "\(what) '\(printable(s))' must start with a letter or digit") }
        guard u.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        else { throw TributaryError(code, "\(what) '\(printable(s))' may contain only letters, digits, '_', '-' and '.'") }
    }

    public static func validateStream(_ s: String) throws {
        try validateIdentifier(s, what: "stream", code: .invalidStream)
    }

    public static func validateSite(_ s: String) throws {
        try validateIdentifier(s, what: "site id", code: .invalidName)
    }

    public static func validateObjectName(_ name: String) throws {
        let u = Array(name.utf8)
        guard !u.isEmpty else { throw TributaryError(.invalidName, "object name is empty") }
        guard u.count <= 1024 else { throw TributaryError(.invalidName, "object name is longer than 1024 bytes") }
        guard u[0] != UInt8(ascii: "/") else {
            throw TributaryError(.invalidName, "object name '\(printable(name))' is an absolute path")
        }
        if let bad = u.first(where: { $0 < 0x20 || $0 == 0x7f }) {
            throw TributaryError(.invalidName, "object name '\(printable(name))' contains control character 0x\(String(bad, radix: 16))")
        }
        guard !u.contains(UInt8(ascii: "\\")) else {
            throw TributaryError(.invalidName, "object name '\(printable(name))' contains a backslash")
        }
        for component in name.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { throw TributaryError(.invalidName, "object name '\(printable(name))' has an empty path component") }
            if component == "." || component == ".." {
                throw TributaryError(.invalidName, "object name '\(printable(name))' contains a '\(component)' component")
            }
            if component.utf8.count > 255 {
                throw TributaryError(.invalidName, "object name '\(printable(name))' has a component longer than 255 bytes")
            }
        }
    }

    /// The sanitized name used in a lake key, with `tag` (e.g. a content-hash prefix) inserted
    /// before the extension: `dir/reading.csv` → `dir/reading.<tag>.csv`. Compound compression
    /// extensions stay together: `log.csv.gz` → `log.<tag>.csv.gz`.
    public static func lakeName(_ name: String, tag: String) -> String {
        var parts = name.split(separator: "/").map { sanitizeComponent(String($0)) }
        // A validated name has at least one component; anything else still gets a key, not a trap.
        let last = parts.popLast() ?? "_"
        let (stem, ext) = splitExtension(last)
        parts.append(stem + "." + tag + ext)
        return parts.joined(separator: "/")
    }

    public static func sanitizeComponent(_ c: String) -> String {
        var out = [UInt8]()
        for b in c.utf8 {
            let ok = isAlnum(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
            out.append(ok ? b : UInt8(ascii: "_"))
        }
        if out.first == UInt8(ascii: ".") { out[0] = UInt8(ascii: "_") }
        return String(decoding: out, as: UTF8.self)
    }

    static func splitExtension(_ component: String) -> (String, String) {
        let compression: Set<String> = ["gz", "zst", "bz2", "xz", "lz4", "snappy"]
        let pieces = component.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard pieces.count > 1, !pieces[0].isEmpty else { return (component, "") }
        var extCount = 1
        if let lastExt = pieces.last, compression.contains(lastExt.lowercased()), pieces.count > 2 { extCount = 2 }
        let exts = pieces.suffix(extCount)
        // An extension is short and alphanumeric; otherwise it is part of the stem.
        guard exts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 10 && $0.utf8.allSatisfy(isAlnum) }) else {
            return (component, "")
        }
        return (pieces.dropLast(extCount).joined(separator: "."), "." + exts.joined(separator: "."))
    }

    static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
    }

    /// A form of `s` safe to put in a log line or error message.
    public static func printable(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars.prefix(200) {
            if scalar.value < 0x20 || scalar.value == 0x7f {
                out += "\\x" + String(scalar.value, radix: 16)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
