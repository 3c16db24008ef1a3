@_exported import TributaryTOML
import TributaryFiles

/// A setting that cannot be read or is not valid; the message names the key.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reading a component's TOML file, the same way for the core and the edge: the settings sit under
/// `[section]` or at the top level; a key not in `known` is an error (a typo must not be ignored).
public enum TOMLSettings {
    /// The settings table of `file`.
    public static func read(file: String, section name: String, known: Set<String>) throws -> TOMLTable {
        let table = try document(file: file)
        let section = table[name]?.table ?? table
        for key in section.keys where !known.contains(key) && key != name {
            throw ConfigurationError("config file \(file): unknown setting '\(key)'")
        }
        return section
    }

    /// The whole TOML document of `file` (at most 1 MiB).
    public static func document(file: String) throws -> TOMLTable {
        let limits = TOMLLimits()
        let bytes: [UInt8]
        do {
            bytes = try FileIO.readAll(file, limit: limits.maxDocumentBytes)
        } catch {
            throw ConfigurationError("cannot read config file \(file): \(error)")
        }
        do {
            return try TOMLParser.parse(bytes, limits: limits)
        } catch let error as TOMLError {
            throw ConfigurationError("config file \(file), \(error)")
        }
    }

    /// A secret kept in a file (`token_file`, `admin_token_file`, …): its first line without the
    /// line end, which must not be empty. The value never appears in the error.
    public static func secret(file: String, key: String) throws -> String {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.readAll(file, limit: 64 * 1024)
        } catch {
            throw ConfigurationError("\(key): cannot read \(file): \(error)")
        }
        let first = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        let value = String(first.drop(while: blank).reversed().drop(while: blank).reversed())
        guard !value.isEmpty else { throw ConfigurationError("\(key): \(file) is empty") }
        return value
    }

    /// A scalar (string, integer, boolean, float) as the string form settings are applied from;
    /// nil for tables and arrays.
    public static func scalar(_ v: TOMLValue) -> String? {
        switch v {
        case .string(let s): s
        case .integer(let i): String(i)
        case .boolean(let b): b ? "true" : "false"
        case .float(let d): String(d)
        case .array, .table: nil
        }
    }
}
