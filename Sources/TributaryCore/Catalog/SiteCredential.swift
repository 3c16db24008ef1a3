#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

// Site credentials (issue 11): table `site_credentials`, key (kind, value), schema version 3
// (DDL in SQLiteCatalog+Schema.swift, `CatalogSchema.credentialStatements`).
//
//   kind = 'token'            value = sha256 hex of the bearer token (the token is never stored)
//   kind = 'cert-subject'     value = 'CN=<common name>' of a client certificate
//   kind = 'cert-fingerprint' value = sha256 hex of a client certificate's DER bytes
//
// Invariants:
// - A credential names one site (the primary key); a site has any number of credentials.
// - `sites.token_sha256` (schema 1) is no longer read: the migration copies every site's token
//   into `site_credentials`; sites registered afterwards without a token hold `none:<site>` there.
// - Rotation ends the site's current tokens at `expires_at` (now + grace) and adds the new one
//   in one transaction; revocation deletes every credential of the site at once. Data, history
//   and the `sites` row stay.
// - Nothing caches a credential: every request looks it up, so a rotation's end and a revocation
//   take effect on every node with the next request (the bound is one catalog round trip).

/// One way a site proves who it is.
public struct SiteCredential: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case token
        case certSubject = "cert-subject"
        case certFingerprint = "cert-fingerprint"
    }

    public var site: String
    public var kind: Kind
    public var value: String
    public var createdAt: String
    /// When this credential stops working; nil until a rotation ends it.
    public var expiresAt: String?

    public init(site: String, kind: Kind, value: String, createdAt: String, expiresAt: String? = nil) {
        self.site = site
        self.kind = kind
        self.value = value
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    /// The expiry rule: a credential works strictly before its `expiresAt`. An unreadable
    /// expiry counts as expired.
    public func isValid(at now: Date) -> Bool {
        guard let expiresAt else { return true }
        guard let end = try? Timestamp.parse(expiresAt) else { return false }
        return now < end
    }
}

/// `addCredential` for a site that is not registered.
public struct UnknownSiteError: Error, Sendable {
    public var site: String
}

/// `addCredential` for a certificate identity another credential already holds.
public struct CredentialExistsError: Error, Sendable {
    public var kind: SiteCredential.Kind
}

extension SiteCredential {
    /// What `sites.token_sha256` holds for a site registered without a token.
    static func noToken(_ site: String) -> String { "none:" + site }
}
