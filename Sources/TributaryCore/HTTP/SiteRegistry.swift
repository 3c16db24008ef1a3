#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol
import TributarySettings

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
    /// `given`: the token to register instead of a new one — the same site registered on several
    /// cores (an edge that fails over between them presents one token to each); checked by
    /// `validateGivenToken`.
    public func add(_ site: String, withToken: Bool, given: String? = nil) async throws -> String? {
        try Names.validateSite(site)
        if let given { try Self.validateGivenToken(given) }
        let token = withToken ? (given ?? Authenticator.newToken()) : nil
        do {
            try await catalog.addSite(site, tokenSHA256: token.map { StreamingDigest.sha256Hex(Array($0.utf8)) }, createdAt: Timestamp.format(Date()))
        } catch is SiteExistsError {
            throw DomainError(.siteExists, "site '\(site)' is already registered")
        }
        return token
    }

    /// A token an operator gives (`sites add --token-file`): 32…256 visible ASCII characters, so it
    /// is as hard to guess as one the core makes (`trb_` and 48 hex digits) and fits a header.
    public static func validateGivenToken(_ token: String) throws {
        let bytes = Array(token.utf8)
        guard (32...256).contains(bytes.count), bytes.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw DomainError(.badRequest, "a given token must be 32 to 256 visible ASCII characters (no spaces)")
        }
    }

    /// The token in `file` (its first line), checked (`sites add --token-file`).
    public static func givenToken(file: String) throws -> String {
        let token = try TOMLSettings.secret(file: file, key: "--token-file")
        try validateGivenToken(token)
        return token
    }
}
