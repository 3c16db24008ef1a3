import PostgresNIO
import TributaryProtocol
import TributarySQLite

/// One result row as a catalog record reads it: columns by position, in the order of that
/// record's `columns`. SQLite rows (`[SQLValue]`) and PostgreSQL rows adapt to it below, so each
/// record is built from a row in exactly one place (`init(row:)`, CatalogRecord+Row.swift).
/// A row the schema cannot produce (a NULL in a NOT NULL column, a type the column never holds)
/// throws `TributaryError(.io)` rather than turning into an empty string.
protocol CatalogRow {
    func textOrNil(_ column: Int) throws -> String?
    func integerOrNil(_ column: Int) throws -> Int64?
    func realOrNil(_ column: Int) throws -> Double?
}

extension CatalogRow {
    func text(_ column: Int) throws -> String {
        guard let v = try textOrNil(column) else { throw Self.missing(column) }
        return v
    }

    func integer(_ column: Int) throws -> Int64 {
        guard let v = try integerOrNil(column) else { throw Self.missing(column) }
        return v
    }

    /// A count or size column: never negative.
    func size(_ column: Int) throws -> UInt64 {
        guard let v = UInt64(exactly: try integer(column)) else { throw TributaryError(.io, "catalog row: column \(column) is negative") }
        return v
    }

    func real(_ column: Int) throws -> Double {
        guard let v = try realOrNil(column) else { throw Self.missing(column) }
        return v
    }

    /// The same row without its first `count` columns (a record read after other columns).
    func dropping(_ count: Int) -> some CatalogRow { ShiftedRow(base: self, shift: count) }

    static func missing(_ column: Int) -> TributaryError { TributaryError(.io, "catalog row: column \(column) is NULL") }
}

private struct ShiftedRow<Base: CatalogRow>: CatalogRow {
    let base: Base
    let shift: Int
    func textOrNil(_ column: Int) throws -> String? { try base.textOrNil(column + shift) }
    func integerOrNil(_ column: Int) throws -> Int64? { try base.integerOrNil(column + shift) }
    func realOrNil(_ column: Int) throws -> Double? { try base.realOrNil(column + shift) }
}

/// A SQLite row (`SQLiteDatabase.query`).
struct SQLiteRow: CatalogRow {
    let values: [SQLValue]

    func value(_ column: Int) throws -> SQLValue {
        guard values.indices.contains(column) else { throw TributaryError(.io, "catalog row: no column \(column)") }
        return values[column]
    }

    func textOrNil(_ column: Int) throws -> String? {
        switch try value(column) {
        case .null: return nil
        case .text(let s): return s
        default: throw TributaryError(.io, "catalog row: column \(column) is not text")
        }
    }

    func integerOrNil(_ column: Int) throws -> Int64? {
        switch try value(column) {
        case .null: return nil
        case .integer(let i): return i
        default: throw TributaryError(.io, "catalog row: column \(column) is not an integer")
        }
    }

    func realOrNil(_ column: Int) throws -> Double? {
        switch try value(column) {
        case .null: return nil
        case .real(let d): return d
        case .integer(let i): return Double(i)  // SQLite stores a whole REAL as an integer
        case .text: throw TributaryError(.io, "catalog row: column \(column) is not a number")
        }
    }
}

extension SQLiteDatabase {
    /// `query`, with each row adapted for a record's `init(row:)`.
    func rows(_ sql: String, _ params: [SQLValue] = []) throws -> [SQLiteRow] {
        try query(sql, params).map(SQLiteRow.init)
    }
}

/// A PostgreSQL row.
struct PostgresCatalogRow: CatalogRow {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) { self.row = row.makeRandomAccess() }

    func cell(_ column: Int) throws -> PostgresCell {
        guard column >= 0, column < row.count else { throw TributaryError(.io, "catalog row: no column \(column)") }
        return row[column]
    }

    func textOrNil(_ column: Int) throws -> String? { try cell(column).decode(String?.self) }
    func integerOrNil(_ column: Int) throws -> Int64? { try cell(column).decode(Int64?.self) }
    func realOrNil(_ column: Int) throws -> Double? { try cell(column).decode(Double?.self) }
}

extension PostgresRowSequence {
    /// Every row, adapted for a record's `init(row:)`.
    func catalogRows() async throws -> [PostgresCatalogRow] {
        var out: [PostgresCatalogRow] = []
        for try await row in self { out.append(PostgresCatalogRow(row)) }
        return out
    }
}
