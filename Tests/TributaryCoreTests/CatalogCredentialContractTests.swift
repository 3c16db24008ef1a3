import Foundation
import Testing
@testable import TributaryCore
import TributaryProtocol
import TributarySQLite
import TributaryTestKit

/// Site credentials (schema version 3), one body per rule, on every catalog backend; "another
/// node" is a second PostgreSQL client on the same database.
@Suite("Catalog credentials contract")
struct CatalogCredentialContractTests {
    typealias Nodes = CatalogContractTests.Nodes
    static func sha(_ s: String) -> String { CatalogContractTests.sha(s) }
    static let t0 = "2026-11-21T10:00:00.000Z"

    @Test("a certificate identity names its site; unknown sites and taken identities are refused", arguments: CatalogKind.available)
    func certificates(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        try await n.first.addSite("plant-a", tokenSHA256: nil, createdAt: Self.t0)
        try await n.first.addSite("plant-b", tokenSHA256: Self.sha("tb"), createdAt: Self.t0)
        let fp = String(repeating: "ab", count: 32)
        try await n.first.addCredential(SiteCredential(site: "plant-a", kind: .certFingerprint, value: fp, createdAt: Self.t0))
        try await n.second.addCredential(SiteCredential(site: "plant-a", kind: .certSubject, value: "CN=edge-a", createdAt: Self.t0))
        #expect(try await n.second.credential(kind: .certFingerprint, value: fp)?.site == "plant-a")
        #expect(try await n.first.credential(kind: .certSubject, value: "CN=edge-a")?.site == "plant-a")
        #expect(try await n.first.credential(kind: .certSubject, value: "CN=edge-b") == nil)
        // A subject and a fingerprint are different kinds: the same text does not match across them.
        #expect(try await n.first.credential(kind: .certSubject, value: fp) == nil)
        #expect(try await n.second.credentials(site: "plant-a").map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.certFingerprint, .certSubject])
        // A site registered without a token has none.
        #expect(try await n.first.credentials(site: "plant-a").allSatisfy { $0.kind != .token })
        await #expect(throws: CredentialExistsError.self) {
            try await n.second.addCredential(SiteCredential(site: "plant-b", kind: .certSubject, value: "CN=edge-a", createdAt: Self.t0))
        }
        await #expect(throws: UnknownSiteError.self) {
            try await n.first.addCredential(SiteCredential(site: "plant-z", kind: .certSubject, value: "CN=edge-z", createdAt: Self.t0))
        }
        // Two sites registered without a token do not collide.
        try await n.second.addSite("plant-c", tokenSHA256: nil, createdAt: Self.t0)
        #expect(try await n.first.sites().map(\.site) == ["plant-a", "plant-b", "plant-c"])
    }

    @Test("rotation ends the old tokens at the grace end, adds the new one; an earlier end is kept", arguments: CatalogKind.available)
    func rotation(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        try await n.first.addSite("plant-a", tokenSHA256: Self.sha("t1"), createdAt: Self.t0)
        #expect(try await n.first.credential(kind: .token, value: Self.sha("t1"))?.expiresAt == nil)
        #expect(try await n.second.rotateToken(site: "plant-a", tokenSHA256: Self.sha("t2"), at: Self.t0, oldTokensExpireAt: "2026-11-22T10:00:00.000Z"))
        #expect(try await n.first.credential(kind: .token, value: Self.sha("t1"))?.expiresAt == "2026-11-22T10:00:00.000Z")
        #expect(try await n.first.credential(kind: .token, value: Self.sha("t2"))?.site == "plant-a")
        #expect(try await n.first.credential(kind: .token, value: Self.sha("t2"))?.expiresAt == nil)
        // A second rotation with a longer grace does not extend t1; t2 gets the new end.
        #expect(try await n.first.rotateToken(site: "plant-a", tokenSHA256: Self.sha("t3"), at: Self.t0, oldTokensExpireAt: "2026-11-23T10:00:00.000Z"))
        #expect(try await n.second.credential(kind: .token, value: Self.sha("t1"))?.expiresAt == "2026-11-22T10:00:00.000Z")
        #expect(try await n.second.credential(kind: .token, value: Self.sha("t2"))?.expiresAt == "2026-11-23T10:00:00.000Z")
        // The expiry rule: working strictly before the end.
        let t1 = try #require(try await n.first.credential(kind: .token, value: Self.sha("t1")))
        #expect(t1.isValid(at: try Timestamp.parse("2026-11-22T09:59:59.999Z")))
        #expect(!t1.isValid(at: try Timestamp.parse("2026-11-22T10:00:00.000Z")))
        #expect(try await n.first.site(forTokenSHA256: Self.sha("t1"), at: try Timestamp.parse("2026-11-22T11:00:00.000Z")) == nil)
        #expect(try await n.first.site(forTokenSHA256: Self.sha("t3"), at: try Timestamp.parse("2030-01-01T00:00:00.000Z")) == "plant-a")
        #expect(try await n.second.rotateToken(site: "plant-z", tokenSHA256: Self.sha("t9"), at: Self.t0, oldTokensExpireAt: Self.t0) == false)
    }

    @Test("revocation removes every credential of the site at once and keeps the site", arguments: CatalogKind.available)
    func revocation(kind: CatalogKind) async throws {
        let n = try await Nodes(kind)
        try await n.first.addSite("plant-a", tokenSHA256: Self.sha("ta"), createdAt: Self.t0)
        try await n.first.addSite("plant-b", tokenSHA256: Self.sha("tb"), createdAt: Self.t0)
        try await n.first.addCredential(SiteCredential(site: "plant-a", kind: .certSubject, value: "CN=edge-a", createdAt: Self.t0))
        #expect(try await n.second.revokeCredentials(site: "plant-a") == 2)
        #expect(try await n.first.credential(kind: .token, value: Self.sha("ta")) == nil)
        #expect(try await n.first.credential(kind: .certSubject, value: "CN=edge-a") == nil)
        #expect(try await n.first.credentials(site: "plant-a").isEmpty)
        #expect(try await n.first.credential(kind: .token, value: Self.sha("tb"))?.site == "plant-b")
        #expect(try await n.first.sites().map(\.site) == ["plant-a", "plant-b"])
        #expect(try await n.second.revokeCredentials(site: "plant-z") == nil)
        // A rotation gives a revoked site a token again.
        #expect(try await n.second.rotateToken(site: "plant-a", tokenSHA256: Self.sha("ta2"), at: Self.t0, oldTokensExpireAt: Self.t0))
        #expect(try await n.first.site(forTokenSHA256: Self.sha("ta2")) == "plant-a")
    }

    @Test("SQLite: version 2 → 3 keeps every site's token working")
    func upgrade() async throws {
        let dir = try TemporaryDirectory(prefix: "tributary-upgrade")
        let path = dir.path("catalog.sqlite")
        do {
            let db = try SQLiteDatabase(path: path)
            try db.migrate(Array(SQLiteCatalog.migrations.prefix(2)))
            try db.query("INSERT INTO sites VALUES('plant-a', ?, ?)", [.text(Self.sha("ta")), .text(Self.t0)])
        }
        let catalog = try SQLiteCatalog(path: path)
        #expect(try await catalog.site(forTokenSHA256: Self.sha("ta")) == "plant-a")
        #expect(try await catalog.credentials(site: "plant-a").map(\.createdAt) == [Self.t0])
    }
}
