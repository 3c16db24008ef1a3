import CSQLite
import Synchronization

/// A value bound to or read from a SQLite statement.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    public var string: String? { if case .text(let s) = self { return s } else { return nil } }
    public var int: Int64? { if case .integer(let i) = self { return i } else { return nil } }
}

public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    public var description: String { "SQLite error \(code): \(message)" }
    /// True for a UNIQUE / PRIMARY KEY violation.
    public var isConstraintViolation: Bool { code & 0xff == SQLITE_CONSTRAINT }
}

private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A thin wrapper over one SQLite connection. Each call is safe from any thread (the connection
/// is opened in serialized mode), hence `@unchecked Sendable`; a transaction spans several
/// calls, so owners still serialize their use (the core's catalog behind a mutex).
///
/// Opened in WAL mode with `synchronous=FULL`: a committed transaction is durable (the WAL is
/// fsync'd at every commit) and readers in other processes (`sites add`, `status`) never block
/// the writer.
///
/// Prepared statements are kept for reuse (`StatementCache`): a commit of 1,000 objects runs the
/// same two INSERTs 1,000 times, and preparing them again each time was a good part of its cost.
public final class SQLiteDatabase: @unchecked Sendable {
    private var db: OpaquePointer?
    public let path: String
    private let statements = Mutex(StatementCache())

    public init(path: String, busyTimeoutMilliseconds: Int32 = 10_000) throws {
        self.path = path
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(
            path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            let msg = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            throw SQLiteError(code: rc, message: "\(path): \(msg)")
        }
        db = handle
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=FULL")
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit {
        statements.withLock { $0.finalizeAll() }
        sqlite3_close_v2(db)
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(err)
            throw SQLiteError(code: rc, message: msg)
        }
    }

    /// Runs one statement with bound parameters; returns its rows.
    @discardableResult
    public func query(_ sql: String, _ params: [SQLValue] = []) throws -> [[SQLValue]] {
        // A statement is taken out of the cache while it runs, so two threads never share one.
        var stmt = statements.withLock { $0.take(sql) }?.handle
        var rc = SQLITE_OK
        if stmt == nil {
            rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
            guard rc == SQLITE_OK else { throw error(rc) }
        }
        defer {
            // Reset (releases its read of the database) and unbound before it is kept.
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
            if let stmt, let evicted = statements.withLock({ $0.put(sql, PreparedStatement(handle: stmt)) }) {
                sqlite3_finalize(evicted.handle)
            }
        }
        for (i, p) in params.enumerated() {
            let idx = Int32(i + 1)
            switch p {
            case .null: rc = sqlite3_bind_null(stmt, idx)
            case .integer(let v): rc = sqlite3_bind_int64(stmt, idx, v)
            case .real(let v): rc = sqlite3_bind_double(stmt, idx, v)
            case .text(let v): rc = sqlite3_bind_text(stmt, idx, v, -1, SQLITE_TRANSIENT)
            }
            guard rc == SQLITE_OK else { throw error(rc) }
        }
        var rows: [[SQLValue]] = []
        while true {
            rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(rc) }
            let n = sqlite3_column_count(stmt)
            var row: [SQLValue] = []
            row.reserveCapacity(Int(n))
            for c in 0..<n {
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_NULL: row.append(.null)
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(stmt, c)))
                case SQLITE_FLOAT: row.append(.real(sqlite3_column_double(stmt, c)))
                default: row.append(.text(String(cString: sqlite3_column_text(stmt, c))))
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: committed if it returns, rolled back if it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let r = try body()
            try execute("COMMIT")
            return r
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// `PRAGMA user_version`, used as the schema version by migrations.
    public var userVersion: Int {
        get throws { Int(try query("PRAGMA user_version").first?.first?.int ?? 0) }
    }

    /// Applies `migrations[i]` for every i ≥ the current `user_version`, each in its own transaction.
    public func migrate(_ migrations: [String]) throws {
        try transaction {
            let current = try userVersion
            for (i, sql) in migrations.enumerated() where i >= current {
                try execute(sql)
                try execute("PRAGMA user_version = \(i + 1)")
            }
        }
    }

    private func error(_ rc: Int32) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(db), message: String(cString: sqlite3_errmsg(db)))
    }
}

/// A prepared statement, owned by one `query` call at a time (moved through the cache's lock).
struct PreparedStatement: @unchecked Sendable {
    let handle: OpaquePointer
}

/// Prepared statements by SQL text, at most `capacity` of them; the least recently returned one
/// is finalized when a new one would exceed it (statements whose text varies, such as an `IN`
/// list of varying length, cycle through without growing the cache).
struct StatementCache: ~Copyable {
    static let capacity = 64
    private var byText: [String: PreparedStatement] = [:]
    /// SQL texts in the order their statements were returned, oldest first.
    private var order: [String] = []

    /// The cached statement for `sql`, removed from the cache (nil: prepare one).
    mutating func take(_ sql: String) -> PreparedStatement? {
        guard let stmt = byText.removeValue(forKey: sql) else { return nil }
        if let i = order.lastIndex(of: sql) { order.remove(at: i) }
        return stmt
    }

    /// Keeps `stmt` for `sql`; returns a statement the caller must finalize (a duplicate of one
    /// already kept, or the oldest when the cache is full).
    mutating func put(_ sql: String, _ stmt: PreparedStatement) -> PreparedStatement? {
        if byText[sql] != nil { return stmt }
        byText[sql] = stmt
        order.append(sql)
        guard order.count > Self.capacity else { return nil }
        let oldest = order.removeFirst()
        return byText.removeValue(forKey: oldest)
    }

    mutating func finalizeAll() {
        for stmt in byText.values { sqlite3_finalize(stmt.handle) }
        byText = [:]
        order = []
    }

    var count: Int { byText.count }
}
