import TributaryProtocol

// Relays (issue 12). Schema version 4 (SQLite and PostgreSQL alike):
//
//   site_relays(site TEXT PRIMARY KEY, sites TEXT NOT NULL, created_at TEXT NOT NULL)
//   arrivals.relay TEXT NULL     -- the relay that submitted the arrival on behalf of its site
//
// `sites` is a comma-separated list of site names or prefix patterns (`plant-*`); `*` alone
// means any site. Invariants:
// - Only a site with a `site_relays` row may submit on behalf of another site, and only of a
//   site its list permits (`OnBehalfOf.owner`, the one place the rule lives).
// - An arrival submitted on behalf of a site lands under that site (partitions, dedup, fleet
//   counters) and carries the relay in `arrivals.relay`, its manifest line and the receipt.
// - The upload itself belongs to the relay (its HEAD, PATCH, receipt and termination).

/// A site's permission to submit uploads on behalf of other sites (a downstream core).
public struct RelayGrant: Sendable, Equatable {
    public var site: String
    /// Site names or prefix patterns ending in `*`; `["*"]` permits any site.
    public var sites: [String]
    public var createdAt: String

    public init(site: String, sites: [String], createdAt: String) {
        self.site = site
        self.sites = sites.isEmpty ? ["*"] : sites
        self.createdAt = createdAt
    }

    /// Parses the CLI's / column's comma-separated list; each entry is a site name or a site-name
    /// prefix followed by `*`.
    public static func parseSites(_ text: String) throws -> [String] {
        var out: [String] = []
        for part in text.split(separator: ",") {
            var trimmed = Substring(part)
            while trimmed.first == " " { trimmed = trimmed.dropFirst() }
            while trimmed.last == " " { trimmed = trimmed.dropLast() }
            let p = String(trimmed)
            if p == "*" {
                out.append(p)
                continue
            }
            let name = p.hasSuffix("*") ? String(p.dropLast()) : p
            try Names.validateSite(name)
            out.append(p)
        }
        return out.isEmpty ? ["*"] : out
    }

    public var sitesText: String { sites.joined(separator: ",") }

    /// Whether this relay may submit on behalf of `site`.
    public func permits(_ site: String) -> Bool {
        sites.contains { p in p.hasSuffix("*") ? site.hasPrefix(String(p.dropLast())) : site == p }
    }

    /// Schema version 4, the same statements in both dialects.
    static let migrationStatements = [
        """
        CREATE TABLE site_relays(
            site TEXT PRIMARY KEY,
            sites TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """,
        "ALTER TABLE arrivals ADD COLUMN relay TEXT",
    ]
}

/// The rule for `site` and `received-at` in an upload's metadata (docs/REPLICATION.md, "Relays").
public enum OnBehalfOf {
    /// The site an upload is filed under: the caller's own, unless it names another site in
    /// `site`, which only a relay permitted for that site may do. Only a relay may state
    /// `received-at` (an edge's arrivals are received when the core receives them).
    /// - Returns: the other site, or nil when the upload is the caller's own.
    public static func owner(caller: String, claimed: String?, statesReceivedAt: Bool, statesPath: Bool = false, grant: RelayGrant?) throws -> String? {
        if statesReceivedAt && grant == nil {
            throw DomainError(.notARelay, "site '\(caller)' is not a relay: only a relay may state 'received-at'")
        }
        if statesPath && grant == nil {
            throw DomainError(.notARelay, "site '\(caller)' is not a relay: only a relay may state 'origin-core' and 'core-path'")
        }
        guard let claimed, claimed != caller else { return nil }
        guard let grant else {
            throw DomainError(
                .notARelay,
                "site '\(caller)' is not a relay: it may not submit on behalf of site '\(Names.printable(claimed))'")
        }
        guard grant.permits(claimed) else {
            throw DomainError(
                .relayNotPermitted,
                "relay '\(caller)' may submit on behalf of \(grant.sitesText) only, not '\(Names.printable(claimed))'")
        }
        return claimed
    }
}
