import Logging
import PostgresNIO
import TributaryProtocol

extension PostgresCatalog {
    public func addCredential(_ c: SiteCredential) async throws {
        try await call("add credential") { [client, logger] in
            do {
                try await client.withTransaction(logger: logger) { conn in
                    guard try await Self.siteExists(c.site, on: conn, logger: logger) else { throw UnknownSiteError(site: c.site) }
                    try await Self.insert(c, on: conn, logger: logger)
                }
            } catch let e as PostgresTransactionError {
                if let q = e.closureError as? PSQLError, q.serverInfo?[.sqlState] == "23505" { throw CredentialExistsError(kind: c.kind) }
                throw e.closureError ?? (e as any Error)
            }
        }
    }

    static func insert(_ c: SiteCredential, on conn: PostgresConnection, logger: Logger) async throws {
        try await conn.query(
            """
            INSERT INTO site_credentials(\(unescaped: SiteCredential.columns))
            VALUES (\(c.site), \(c.kind.rawValue), \(c.value), \(c.createdAt), \(c.expiresAt))
            """, logger: logger)
    }

    static func siteExists(_ site: String, on conn: PostgresConnection, logger: Logger) async throws -> Bool {
        for try await _ in try await conn.query("SELECT site FROM sites WHERE site = \(site) FOR UPDATE", logger: logger).decode(String.self) {
            return true
        }
        return false
    }

    public func credential(kind: SiteCredential.Kind, value: String) async throws -> SiteCredential? {
        try await call("credential") { [client, logger] in
            try await client.query(
                "SELECT \(unescaped: SiteCredential.columns) FROM site_credentials WHERE kind = \(kind.rawValue) AND value = \(value)",
                logger: logger
            ).catalogRows().first.map(SiteCredential.init(row:))
        }
    }

    public func credentials(site: String) async throws -> [SiteCredential] {
        try await call("credentials") { [client, logger] in
            try await client.query(
                "SELECT \(unescaped: SiteCredential.columns) FROM site_credentials WHERE site = \(site) ORDER BY created_at, kind",
                logger: logger
            ).catalogRows().map(SiteCredential.init(row:))
        }
    }

    public func rotateToken(site: String, tokenSHA256: String, at: String, oldTokensExpireAt: String) async throws -> Bool {
        try await call("rotate token") { [client, logger] in
            do {
                return try await client.withTransaction(logger: logger) { conn in
                    guard try await Self.siteExists(site, on: conn, logger: logger) else { return false }
                    try await conn.query(
                        """
                        UPDATE site_credentials SET expires_at = \(oldTokensExpireAt)
                        WHERE site = \(site) AND kind = 'token' AND (expires_at IS NULL OR expires_at > \(oldTokensExpireAt))
                        """, logger: logger)
                    try await Self.insert(SiteCredential(site: site, kind: .token, value: tokenSHA256, createdAt: at), on: conn, logger: logger)
                    return true
                }
            } catch let e as PostgresTransactionError {
                throw e.closureError ?? (e as any Error)
            }
        }
    }

    public func revokeCredentials(site: String) async throws -> Int? {
        try await call("revoke") { [client, logger] in
            do {
                return try await client.withTransaction(logger: logger) { conn -> Int? in
                    guard try await Self.siteExists(site, on: conn, logger: logger) else { return nil }
                    var n = 0
                    let rows = try await conn.query("DELETE FROM site_credentials WHERE site = \(site) RETURNING kind", logger: logger)
                    for try await _ in rows.decode(String.self) { n += 1 }
                    return n
                }
            } catch let e as PostgresTransactionError {
                throw e.closureError ?? (e as any Error)
            }
        }
    }
}

extension PostgresCatalog {
    public func setRelay(_ g: RelayGrant) async throws {
        try await call("set relay") { [client, logger] in
            do {
                try await client.withTransaction(logger: logger) { conn in
                    guard try await Self.siteExists(g.site, on: conn, logger: logger) else { throw UnknownSiteError(site: g.site) }
                    try await conn.query(
                        """
                        INSERT INTO site_relays(site, sites, created_at) VALUES (\(g.site), \(g.sitesText), \(g.createdAt))
                        ON CONFLICT(site) DO UPDATE SET sites = excluded.sites
                        """, logger: logger)
                }
            } catch let e as PostgresTransactionError {
                throw e.closureError ?? (e as any Error)
            }
        }
    }

    public func relay(site: String) async throws -> RelayGrant? {
        try await call("relay") { [client, logger] in
            try await client.query("SELECT \(unescaped: RelayGrant.columns) FROM site_relays WHERE site = \(site)", logger: logger)
                .catalogRows().first.map(RelayGrant.init(row:))
        }
    }
}
