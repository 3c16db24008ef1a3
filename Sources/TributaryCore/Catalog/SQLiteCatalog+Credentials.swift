import TributaryProtocol
import TributarySQLite

extension SQLiteCatalog {
    public func addCredential(_ c: SiteCredential) async throws {
        try await with { db in
            try db.transaction {
                guard try !db.query("SELECT 1 FROM sites WHERE site = ?", [.text(c.site)]).isEmpty else { throw UnknownSiteError(site: c.site) }
                do {
                    try Self.insert(db, c)
                } catch let e as SQLiteError where e.isConstraintViolation {
                    throw CredentialExistsError(kind: c.kind)
                }
            }
        }
    }

    static func insert(_ db: SQLiteDatabase, _ c: SiteCredential) throws {
        try db.query(
            "INSERT INTO site_credentials(\(SiteCredential.columns)) VALUES(?, ?, ?, ?, ?)",
            [.text(c.site), .text(c.kind.rawValue), .text(c.value), .text(c.createdAt), c.expiresAt.map(SQLValue.text) ?? SQLValue.null])
    }

    public func credential(kind: SiteCredential.Kind, value: String) async throws -> SiteCredential? {
        try await with { db in
            try db.rows("SELECT \(SiteCredential.columns) FROM site_credentials WHERE kind = ? AND value = ?", [.text(kind.rawValue), .text(value)])
                .first.map(SiteCredential.init(row:))
        }
    }

    public func credentials(site: String) async throws -> [SiteCredential] {
        try await with { db in
            try db.rows("SELECT \(SiteCredential.columns) FROM site_credentials WHERE site = ? ORDER BY created_at, kind", [.text(site)])
                .map(SiteCredential.init(row:))
        }
    }

    public func rotateToken(site: String, tokenSHA256: String, at: String, oldTokensExpireAt: String) async throws -> Bool {
        try await with { db in
            try db.transaction {
                guard try !db.query("SELECT 1 FROM sites WHERE site = ?", [.text(site)]).isEmpty else { return false }
                try db.query(
                    "UPDATE site_credentials SET expires_at = ? WHERE site = ? AND kind = 'token' AND (expires_at IS NULL OR expires_at > ?)",
                    [.text(oldTokensExpireAt), .text(site), .text(oldTokensExpireAt)])
                try Self.insert(db, SiteCredential(site: site, kind: .token, value: tokenSHA256, createdAt: at))
                return true
            }
        }
    }

    public func revokeCredentials(site: String) async throws -> Int? {
        try await with { db in
            try db.transaction {
                guard try !db.query("SELECT 1 FROM sites WHERE site = ?", [.text(site)]).isEmpty else { return nil }
                let n = try db.query("SELECT count(*) FROM site_credentials WHERE site = ?", [.text(site)]).first?[0].int ?? 0
                try db.query("DELETE FROM site_credentials WHERE site = ?", [.text(site)])
                return Int(n)
            }
        }
    }
}

extension SQLiteCatalog {
    public func setRelay(_ g: RelayGrant) async throws {
        try await with { db in
            try db.transaction {
                guard try !db.query("SELECT 1 FROM sites WHERE site = ?", [.text(g.site)]).isEmpty else { throw UnknownSiteError(site: g.site) }
                try db.query(
                    "INSERT INTO site_relays(site, sites, created_at) VALUES(?, ?, ?) ON CONFLICT(site) DO UPDATE SET sites = excluded.sites",
                    [.text(g.site), .text(g.sitesText), .text(g.createdAt)])
            }
        }
    }

    public func relay(site: String) async throws -> RelayGrant? {
        try await with { db in
            try db.rows("SELECT \(RelayGrant.columns) FROM site_relays WHERE site = ?", [.text(site)]).first.map(RelayGrant.init(row:))
        }
    }
}
