#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

/// Registers sites: validates the id, makes a token, stores only its hash.
public struct SiteRegistry: Sendable {
    let catalog: any Catalog

    public init(catalog: any Catalog) { self.catalog = catalog }

    /// Returns the new site's token (shown once).
    public func add(_ site: String) async throws -> String {
        try await add(site, withToken: true)!
    }

    /// Registers `site`; returns its token (shown once), or nil when `withToken` is false (a site
    /// that authenticates by client certificate only: `addCertificate`).
    public func add(_ site: String, withToken: Bool) async throws -> String? {
        try Names.validateSite(site)
        let token = withToken ? Authenticator.newToken() : nil
        do {
            try await catalog.addSite(site, tokenSHA256: token.map { StreamingDigest.sha256Hex(Array($0.utf8)) }, createdAt: Timestamp.format(Date()))
        } catch is SiteExistsError {
            throw DomainError(.siteExists, "site '\(site)' is already registered")
        }
        return token
    }
}
