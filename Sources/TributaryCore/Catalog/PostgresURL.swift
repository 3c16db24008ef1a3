import NIOSSL
import PostgresNIO

/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…&sslrootcert=FILE]`
/// (`postgresql://` too). Percent-escapes in the user and password are decoded. Without a
/// password in the URL, `PGPASSWORD` from the environment is used (see `CoreConfiguration.load`).
///
/// `sslmode` as in libpq (default `prefer`):
/// - `disable`: plain TCP.
/// - `prefer`: TLS if the server offers it, its certificate not checked; plain TCP otherwise.
/// - `require`: TLS, certificate not checked — unless `sslrootcert` is given, which makes it
///   `verify-ca` (libpq does the same).
/// - `verify-ca`: TLS, certificate chained to `sslrootcert` (default: the system trust store).
/// - `verify-full`: as `verify-ca`, and the certificate must name HOST. The recommended setting
///   whenever the database is reached over a network (docs/SECURITY.md).
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public enum SSLMode: String, Sendable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode
    /// PEM file of the CAs the server's certificate must chain to (`sslrootcert`).
    public var sslRootCert: String?

    public init(_ text: String) throws {
        func bad(_ why: String) -> ConfigurationError {
            ConfigurationError("catalog URL '\(Self.redact(text))' is not valid: \(why) (expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)")
        }
        var rest = Substring(text)
        if rest.hasPrefix("postgres://") { rest = rest.dropFirst(11) } else if rest.hasPrefix("postgresql://") { rest = rest.dropFirst(13) } else {
            throw bad("the scheme must be postgres://")
        }
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw bad("no database") }
        let database = String(rest[rest.index(after: slash)...])
        var authority = rest[..<slash]
        guard let at = authority.lastIndex(of: "@") else { throw bad("no user") }
        let userInfo = authority[..<at]
        authority = authority[authority.index(after: at)...]
        if let colon = userInfo.firstIndex(of: ":") {
            user = try Self.percentDecode(userInfo[..<colon])
            password = try Self.percentDecode(userInfo[userInfo.index(after: colon)...])
        } else {
            user = try Self.percentDecode(userInfo)
            password = nil
        }
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else { throw bad("bad port") }
            port = p
            host = String(authority[..<colon])
        } else {
            port = 5432
            host = String(authority)
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        sslMode = .prefer
        sslRootCert = nil
        for item in query.split(separator: "&") {
            let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2, kv[0] == "sslmode", let m = SSLMode(rawValue: kv[1]) {
                sslMode = m
            } else if kv.count == 2, kv[0] == "sslrootcert", !kv[1].isEmpty {
                sslRootCert = try Self.percentDecode(Substring(kv[1]))
            } else {
                throw bad("unknown parameter '\(item)' (only sslmode=disable|prefer|require|verify-ca|verify-full and sslrootcert=FILE)")
            }
        }
        guard !user.isEmpty else { throw bad("empty user") }
        guard !host.isEmpty else { throw bad("empty host") }
        guard !database.isEmpty, !database.contains("/") else { throw bad("bad database name") }
        self.database = database
    }

    /// The TLS setting for postgres-nio (the rules above).
    var tls: PostgresClient.Configuration.TLS {
        var config = TLSConfiguration.makeClientConfiguration()
        if let sslRootCert { config.trustRoots = .file(sslRootCert) }
        switch sslMode {
        case .disable:
            return .disable
        case .prefer:
            config.certificateVerification = .none
            return .prefer(config)
        case .require where sslRootCert == nil:
            config.certificateVerification = .none
            return .require(config)
        case .require, .verifyCA:
            config.certificateVerification = .noHostnameVerification
            return .require(config)
        case .verifyFull:
            config.certificateVerification = .fullVerification
            return .require(config)
        }
    }

    /// The URL without its password (for logs and errors).
    public var description: String {
        "postgres://\(user)@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)" + (sslRootCert.map { "&sslrootcert=" + $0 } ?? "")
    }

    static func redact(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.firstRange(of: "://"), scheme.upperBound < at else { return text }
        let info = text[scheme.upperBound..<at]
        guard let colon = info.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    static func percentDecode(_ s: Substring) throws -> String {
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "%") {
                guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else {
                    throw ConfigurationError("bad percent escape in catalog URL")
                }
                out.append(v)
                it = it.dropFirst(2)
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
