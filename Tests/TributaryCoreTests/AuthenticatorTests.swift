import Foundation
import Testing
@testable import TributaryCore
import TributaryProtocol

/// The authentication rules (Authenticator's doc comment; docs/SECURITY.md) apart from TLS.
@Suite("Authenticator rules")
struct AuthenticatorTests {
    static let fpA = String(repeating: "aa", count: 32)
    static let fpB = String(repeating: "bb", count: 32)
    static func sha(_ s: String) -> String { StreamingDigest.sha256Hex(Array(s.utf8)) }

    static func make(now: Date = Date()) async throws -> Authenticator {
        let c = MemoryCatalog()
        try await c.addSite("plant-a", tokenSHA256: sha("ta"), createdAt: "2026-11-21T10:00:00.000Z")
        try await c.addSite("plant-b", tokenSHA256: sha("tb"), createdAt: "2026-11-21T10:00:00.000Z")
        try await c.addCredential(SiteCredential(site: "plant-a", kind: .certFingerprint, value: fpA, createdAt: "2026-11-21T10:00:00.000Z"))
        try await c.addCredential(SiteCredential(site: "plant-b", kind: .certSubject, value: "CN=edge-b", createdAt: "2026-11-21T10:00:00.000Z"))
        return Authenticator(catalog: c, adminToken: "adm", now: { now })
    }

    static func status(_ body: () async throws -> Authenticator.Principal) async -> String {
        do {
            switch try await body() {
            case .admin: return "admin"
            case .site(let s): return s
            }
        } catch let e as CoreError {
            return String(e.status.code)
        } catch {
            return "\(error)"
        }
    }

    @Test("tokens alone: admin, site, unknown, none")
    func tokens() async throws {
        let a = try await Self.make()
        #expect(await Self.status { try await a.principal(bearer: "adm", peer: nil) } == "admin")
        #expect(await Self.status { try await a.principal(bearer: "ta", peer: nil) } == "plant-a")
        #expect(await Self.status { try await a.principal(bearer: "nope", peer: nil) } == "401")
        #expect(await Self.status { try await a.principal(bearer: nil, peer: nil) } == "401")
    }

    @Test("a registered certificate names its site by fingerprint or subject; a token of another site over it is refused")
    func certificates() async throws {
        let a = try await Self.make()
        let certA = PeerIdentity(fingerprint: Self.fpA, subject: "CN=whatever")
        let certB = PeerIdentity(fingerprint: Self.fpB, subject: "CN=edge-b")
        let stranger = PeerIdentity(fingerprint: String(repeating: "cc", count: 32), subject: "CN=edge-x")
        #expect(await Self.status { try await a.principal(bearer: nil, peer: certA) } == "plant-a")
        #expect(await Self.status { try await a.principal(bearer: nil, peer: certB) } == "plant-b")
        #expect(await Self.status { try await a.principal(bearer: "ta", peer: certA) } == "plant-a")
        #expect(await Self.status { try await a.principal(bearer: "tb", peer: certA) } == "403")
        #expect(await Self.status { try await a.principal(bearer: "ta", peer: certB) } == "403")
        // An unregistered (but CA-verified) certificate adds nothing: the token decides.
        #expect(await Self.status { try await a.principal(bearer: nil, peer: stranger) } == "401")
        #expect(await Self.status { try await a.principal(bearer: "tb", peer: stranger) } == "plant-b")
        #expect(await Self.status { try await a.principal(bearer: "adm", peer: certA) } == "admin")
    }

    @Test("a rotated token works until the grace end, then not; the new one works")
    func rotation() async throws {
        let c = MemoryCatalog()
        try await c.addSite("plant-a", tokenSHA256: Self.sha("t1"), createdAt: "2026-11-21T10:00:00.000Z")
        let registry = SiteRegistry(catalog: c)
        let t0 = try Timestamp.parse("2026-11-21T12:00:00.000Z")
        let (t2, end) = try await registry.rotate("plant-a", graceSeconds: 3600, now: t0)
        #expect(end == "2026-11-21T13:00:00.000Z")
        let before = Authenticator(catalog: c, adminToken: "adm", now: { t0.addingTimeInterval(3599) })
        let after = Authenticator(catalog: c, adminToken: "adm", now: { t0.addingTimeInterval(3600) })
        #expect(await Self.status { try await before.principal(bearer: "t1", peer: nil) } == "plant-a")
        #expect(await Self.status { try await after.principal(bearer: "t1", peer: nil) } == "401")
        #expect(await Self.status { try await after.principal(bearer: t2, peer: nil) } == "plant-a")
        #expect(try await c.hasWorkingCredential(site: "plant-a", at: t0.addingTimeInterval(3600)))
        #expect(try await registry.revoke("plant-a") == 2)
        #expect(await Self.status { try await before.principal(bearer: t2, peer: nil) } == "401")
        #expect(try await c.hasWorkingCredential(site: "plant-a", at: t0) == false)
    }

    @Test("fingerprints and subjects as operators type them")
    func normalizing() {
        #expect(PeerIdentity.normalizeFingerprint(String(repeating: "AB:", count: 31) + "AB") == String(repeating: "ab", count: 32))
        #expect(PeerIdentity.normalizeFingerprint("abcd") == nil)
        #expect(PeerIdentity.normalizeSubject("CN=edge-a") == "CN=edge-a")
        #expect(PeerIdentity.normalizeSubject("CN=edge-a,O=x") == nil)
        #expect(PeerIdentity.normalizeSubject("O=x") == nil)
    }

    @Test("a given token (the same site on several cores) works as a made one; a weak or odd one is refused")
    func givenToken() async throws {
        let c = MemoryCatalog()
        let registry = SiteRegistry(catalog: c)
        let given = "trb_" + String(repeating: "ab", count: 24)
        #expect(try await registry.add("plant-a", withToken: true, given: given) == given)
        let auth = Authenticator(catalog: c, adminToken: "adm")
        #expect(await Self.status { try await auth.principal(bearer: given, peer: nil) } == "plant-a")
        for weak in ["short", String(repeating: "x", count: 31), String(repeating: "x", count: 257), "trb_" + String(repeating: "a", count: 30) + " x", "tök" + String(repeating: "x", count: 40)] {
            await #expect(throws: DomainError.self) { _ = try await registry.add("plant-b", withToken: true, given: weak) }
        }
        #expect(try await c.hasWorkingCredential(site: "plant-b", at: Date()) == false)
    }
}
