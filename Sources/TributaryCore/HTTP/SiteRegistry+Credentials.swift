#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

/// Certificate identities, rotation and revocation (`tributary-core sites …`; docs/SECURITY.md).
extension SiteRegistry {
    /// Registers a client-certificate identity for `site`: `CN=<name>` or a SHA-256 fingerprint.
    public func addCertificate(_ site: String, subject: String?, fingerprint: String?) async throws {
        var credentials: [SiteCredential] = []
        let at = Timestamp.format(Date())
        if let subject {
            guard let s = PeerIdentity.normalizeSubject(subject) else {
                throw DomainError(.badSubject, "a certificate subject is registered as CN=<common name> (no other attributes)")
            }
            credentials.append(SiteCredential(site: site, kind: .certSubject, value: s, createdAt: at))
        }
        if let fingerprint {
            guard let f = PeerIdentity.normalizeFingerprint(fingerprint) else {
                throw DomainError(.badFingerprint, "a certificate fingerprint is 32 bytes of hex (openssl x509 -noout -fingerprint -sha256)")
            }
            credentials.append(SiteCredential(site: site, kind: .certFingerprint, value: f, createdAt: at))
        }
        for c in credentials {
            do {
                try await catalog.addCredential(c)
            } catch is UnknownSiteError {
                throw DomainError.noSite(site)
            } catch let e as CredentialExistsError {
                throw DomainError(.credentialExists, "this \(e.kind.rawValue) is already registered to a site")
            }
        }
    }

    /// Gives `site` a new token (returned, shown once); its previous tokens keep working for
    /// `graceSeconds`, then stop.
    public func rotate(_ site: String, graceSeconds: Int, now: Date = Date()) async throws -> (token: String, oldTokensExpireAt: String) {
        let token = Authenticator.newToken()
        let end = Timestamp.format(now.addingTimeInterval(TimeInterval(graceSeconds)))
        guard try await catalog.rotateToken(
            site: site, tokenSHA256: StreamingDigest.sha256Hex(Array(token.utf8)), at: Timestamp.format(now), oldTokensExpireAt: end)
        else {
            throw DomainError.noSite(site)
        }
        return (token, end)
    }

    /// Stops every credential of `site` at once (its data and history stay); how many there were.
    public func revoke(_ site: String) async throws -> Int {
        guard let n = try await catalog.revokeCredentials(site: site) else {
            throw DomainError.noSite(site)
        }
        return n
    }
}

/// Relays (`tributary-core sites add NAME --relay`; docs/REPLICATION.md).
extension SiteRegistry {
    /// Lets `site` submit uploads on behalf of the sites `sitesText` names (comma-separated names
    /// or `prefix*` patterns; empty or `*`: any site). Returns the grant recorded.
    @discardableResult
    public func makeRelay(_ site: String, sites sitesText: String) async throws -> RelayGrant {
        let grant = RelayGrant(site: site, sites: try RelayGrant.parseSites(sitesText), createdAt: Timestamp.format(Date()))
        do {
            try await catalog.setRelay(grant)
        } catch is UnknownSiteError {
            throw DomainError.noSite(site)
        }
        return grant
    }
}
