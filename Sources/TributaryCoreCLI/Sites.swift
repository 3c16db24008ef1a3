import ArgumentParser
import CoreMetrics
import Logging
import TributaryCommandLine
import TributaryCore

struct Sites: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage registered sites.", subcommands: [Add.self, List.self, Rotate.self, Revoke.self, Relay.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a site and print its upload token (last line). Safe while serve runs.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Site id: 1-64 of [A-Za-z0-9_.-].") var site: String
        @Option(help: "Also accept a client certificate whose subject is CN=<name> (mutual TLS).") var certSubject: String?
        @Option(help: "Also accept the client certificate with this SHA-256 fingerprint (mutual TLS).") var certFingerprint: String?
        @Flag(help: "Give the site no token: it authenticates by its client certificate only.") var noToken = false
        @Option(help: "Register the token in this file (its first line) instead of making one: the same site on several cores, for an edge that fails over between them (core = [..]).")
        var tokenFile: String?
        @Flag(help: "Make the site a relay (a downstream core): it may submit uploads on behalf of other sites.") var relay = false
        @Option(help: "With --relay: the sites it may submit for, comma-separated names or prefix* patterns (default: any).")
        var relaySites: String?

        func validate() throws {
            if noToken && certSubject == nil && certFingerprint == nil {
                throw ValidationError("--no-token needs --cert-subject or --cert-fingerprint")
            }
            if relaySites != nil && !relay { throw ValidationError("--relay-sites needs --relay") }
            if tokenFile != nil && noToken { throw ValidationError("--token-file and --no-token exclude each other") }
        }

        func run() async throws {
            let c = try common.load()
            let (site, subject, fingerprint, withToken) = (self.site, certSubject, certFingerprint, !noToken)
            let relaySites: String? = relay ? (self.relaySites ?? "*") : nil
            if let relaySites { _ = try RelayGrant.parseSites(relaySites) }
            let given = try tokenFile.map { try SiteRegistry.givenToken(file: $0) }
            let token: String? = try await withSiteRegistry(c) { registry in
                let token = try await registry.add(site, withToken: withToken, given: given)
                if subject != nil || fingerprint != nil {
                    try await registry.addCertificate(site, subject: subject, fingerprint: fingerprint)
                }
                if let relaySites { try await registry.makeRelay(site, sites: relaySites) }
                return token
            }
            if let relaySites { print(Sites.relayLine(site, relaySites)) }
            if let subject { print("site \(site) accepts client certificates with subject \(subject)") }
            if let fingerprint { print("site \(site) accepts the client certificate with fingerprint \(fingerprint)") }
            if given != nil {
                print("registered site \(site) with the token from \(tokenFile ?? "")")
            } else if let token {
                print("registered site \(site); its token (shown once):")
                print(token)
            } else {
                print("registered site \(site) without a token")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List registered sites with their status, backlog, oldest pending, ingest lag and last seen.",
            discussion: "The same figures as GET /v1/sites, read from the catalog (the status rules use this configuration).")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON (the body GET /v1/sites answers).") var json = false

        func run() async throws {
            let c = try common.load()
            let view = try await CoreServer.withCatalog(c, logger: cliLogger()) { try await Fleet(catalog: $0, configuration: c).view() }
            if json {
                print(String(decoding: try FleetView.encode(view, pretty: true), as: UTF8.self))
            } else {
                print(FleetTable.render(view), terminator: "")
            }
        }
    }
}

extension Sites {
    /// What `add --relay` and `relay` print once the grant is made.
    static func relayLine(_ site: String, _ sites: String) -> String {
        "site \(site) is a relay: it may submit on behalf of \(sites == "*" ? "any site" : sites)"
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a site a new token and print it (last line). Safe while serve runs.",
            discussion: "The previous token keeps working for token_grace_seconds (default 86400 s), then stops.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Site id.") var site: String
        @Option(help: "Seconds the previous token keeps working (default token_grace_seconds, 86400).") var grace: Int?

        func run() async throws {
            let c = try common.load()
            let (site, grace) = (self.site, self.grace ?? c.tokenGraceSeconds)
            guard grace >= 0 else { throw ValidationError("--grace must be a non-negative number of seconds") }
            let (token, end) = try await withSiteRegistry(c) { try await $0.rotate(site, graceSeconds: grace) }
            print("rotated the token of site \(site); the previous token works until \(end). The new token (shown once):")
            print(token)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop every credential of a site at once (its data and history stay). Safe while serve runs.",
            discussion: "Uploads in flight are refused with 401 and not committed. `sites rotate` gives the site a token again.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Site id.") var site: String

        func run() async throws {
            let c = try common.load()
            let site = self.site
            let n = try await withSiteRegistry(c) { try await $0.revoke(site) }
            print("revoked \(n) credential(s) of site \(site)")
        }
    }

    struct Relay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a registered site a relay (a downstream core), or change the sites it may submit for. Safe while serve runs.",
            discussion: "The same grant as `sites add NAME --relay`; takes effect on every node with the next request (docs/REPLICATION.md).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Site id.") var site: String
        @Option(help: "The sites it may submit for: comma-separated names or prefix* patterns (default: any).") var relaySites = "*"

        func run() async throws {
            let c = try common.load()
            let (site, sites) = (self.site, relaySites)
            _ = try RelayGrant.parseSites(sites)
            _ = try await withSiteRegistry(c) { try await $0.makeRelay(site, sites: sites) }
            print(Sites.relayLine(site, sites))
        }
    }
}

/// Runs `body` with the site registry of the configured catalog; a refusal (unknown site, taken
/// name, bad identity) becomes a usage error with its message.
func withSiteRegistry<T: Sendable>(_ c: CoreConfiguration, _ body: @escaping @Sendable (SiteRegistry) async throws -> T) async throws -> T {
    try await CoreServer.withCatalog(c, logger: cliLogger()) { catalog in
        do {
            return try await body(SiteRegistry(catalog: catalog))
        } catch let e as DomainError {
            throw ValidationError(e.message)
        }
    }
}

/// Warnings and errors of the catalog client on stderr (the `sites` commands print to stdout).
func cliLogger() -> Logger { CLI.stderrLogger(label: "tributary-core") }
