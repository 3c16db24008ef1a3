#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import ServiceLifecycle
import TributaryProtocol
import TributaryFiles
import TributarySettings

/// The core node's backends (data directory, catalog, lake, staging, admin token) and the
/// application built on them (`makeApplication`; `buildApplication` is the entry point).
public struct CoreServer: Sendable {
    public let configuration: CoreConfiguration
    public let logger: Logger
    public let catalog: any Catalog
    public let lake: any LakeStore
    public let staging: StagingArea
    public let adminToken: String
    /// This node's own metrics; `/metrics` serves them with the per-site figures.
    public let metrics: NodeMetrics
    /// This core's stable id in forwarding paths (Forward/CorePath.swift).
    public let coreID: String

    /// The PostgreSQL catalog's connection pool, which must run while the server does.
    let postgres: PostgresCatalog?

    /// Opens the backends named by the configuration (nothing is contacted yet: see `run`).
    public init(configuration: CoreConfiguration, logger: Logger, metrics: NodeMetrics = NodeMetrics()) throws {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        try configuration.validateForward()
        try FileIO.makeDirectories(configuration.dataDirectory)
        (catalog, postgres) = try Self.makeCatalog(configuration, logger: logger)
        switch try configuration.lakeLocation() {
        case .directory(let root):
            lake = try FileSystemLake(root: root)
        case .s3(let location):
            lake = try S3Lake(location: location, settings: configuration.s3, stateDirectory: configuration.multipartStatePath, logger: logger, metrics: metrics)
        }
        staging = try StagingArea(root: configuration.stagingPath)
        adminToken = try Self.loadAdminToken(configuration, logger: logger)
        coreID = try CorePath.loadID(configuration, logger: logger)
    }

    static func makeCatalog(_ c: CoreConfiguration, logger: Logger) throws -> (any Catalog, PostgresCatalog?) {
        switch try c.catalogLocation() {
        case .sqlite(let path):
            try FileIO.makeDirectories(FileIO.dirname(of: path))
            return (try SQLiteCatalog(path: path), nil)
        case .postgres(let url):
            let pg = PostgresCatalog(url: url, timeout: c.catalogTimeoutSeconds, maxConnections: c.catalogMaxConnections, logger: logger)
            return (pg, pg)
        }
    }

    /// The backends' own long-running work, as services to run first in the application's group
    /// (so they stop last): PostgreSQL's connection pool. The schema is brought up to date by
    /// start-up recovery (`prepareCatalog`), which waits for a database that is not up yet, so the
    /// listener opens at once and nodes may start before their database (`/readyz` says
    /// `catalog_unavailable` meanwhile).
    public var backendServices: [any Service] { postgres.map { [$0] } ?? [] }

    /// Brings the catalog schema up to date (PostgreSQL; SQLite did at open), retrying every 2 s
    /// (logged) while the database does not answer.
    public func prepareCatalog() async throws {
        guard let pg = postgres else { return }
        var attempt = 0
        while true {
            do {
                try await pg.migrate()
                return
            } catch let e as TributaryError where e.code == .io {
                attempt += 1
                if attempt == 1 || attempt % 15 == 0 {
                    logger.warning("catalog not reachable yet; retrying every 2 s", metadata: ["error": "\(e.message)"])
                }
                try await Task.sleep(for: .seconds(2))
            }
        }
    }

    /// The configured admin token, or the one in `<data-dir>/admin.token`, generated (mode 0600) if missing.
    static func loadAdminToken(_ c: CoreConfiguration, logger: Logger) throws -> String {
        if let t = c.adminToken, !t.isEmpty { return t }
        if FileIO.exists(c.adminTokenPath) {
            let t = String(decoding: try FileIO.readAll(c.adminTokenPath), as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            guard !t.isEmpty else { throw ConfigurationError("\(c.adminTokenPath) is empty") }
            return t
        }
        let t = "adm_" + Hex.encode(secureRandomBytes(24))
        try FileIO.atomicWrite(c.adminTokenPath, Array((t + "\n").utf8), mode: 0o600)
        logger.notice("generated admin token", metadata: ["path": "\(c.adminTokenPath)"])
        return t
    }

    public func makeCommitter() throws -> Committer {
        Committer(
            lake: lake, catalog: catalog, staging: staging, template: try PartitionTemplate(configuration.partitionTemplate),
            maxDecodedBytes: configuration.maxDecodedBytes, failPoints: FailPoints(spec: configuration.failPoints),
            attemptPolicy: configuration.commitAttempts, logger: logger, metrics: metrics)
    }

    /// Builds the HTTP application with its services.
    public func makeApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws -> some ApplicationProtocol {
        let (host, port) = try configuration.hostAndPort()
        let forwarder = try makeForwarder()
        var committer = try makeCommitter()
        committer.onCommit = forwarder?.wake
        let registry = UploadRegistry(staging: staging, catalog: catalog, observer: committer)
        let progress = RecoveryProgress()
        let refusals = RefusalCounter(catalog: catalog, metrics: metrics, logger: logger)
        let gate = SiteGate(limits: configuration.limits)
        let metrics = metrics
        let budget = BodyBudget(totalBytes: configuration.maxBufferedBodyBytes) { metrics.bodyBuffer(bytesInUse: $0, waited: $1) }

        let auth = Authenticator(catalog: catalog, adminToken: adminToken)
        let router = Router(context: CoreRequestContext.self)
        router.middlewares.add(CoreIDMiddleware(coreID: coreID))
        router.middlewares.add(JSONErrorMiddleware(logger: logger))
        UploadController(
            registry: registry, committer: committer, auth: auth, gate: gate, refusals: refusals, budget: budget, configuration: configuration,
            logger: logger,
            coreID: coreID
        ).addRoutes(to: router)
        DictionaryController(dictionaries: committer.dictionaries, auth: auth, gate: gate, refusals: refusals, logger: logger)
            .addRoutes(to: router)
        AdminController(sites: SiteRegistry(catalog: catalog), auth: auth, lake: lake, catalog: catalog, recovery: progress, logger: logger)
            .addRoutes(to: router)
        let fleet = Fleet(catalog: catalog, configuration: configuration)
        FleetController(fleet: fleet, auth: auth, gate: gate, refusals: refusals, metrics: metrics, logger: logger).addRoutes(to: router)
        MetricsController(fleet: fleet, metrics: metrics, auth: auth, metricsToken: configuration.metricsToken, logger: logger)
            .addRoutes(to: router)
        DashboardController(auth: auth, tls: configuration.tlsCert != nil).addRoutes(to: router)

        let http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))
        let tls = try configuration.tlsFiles().map { try ServerTLS(files: $0) }
        var app = Application(
            router: router,
            server: .smallReads(http1, tls: tls),
            configuration: .init(address: .hostname(host, port: port), serverName: "tributary-core"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
        // Start order; graceful shutdown runs in reverse after the server (Hummingbird adds it
        // last) stops taking requests: the pool outlives everything that queries it.
        for service in backendServices { app.addServices(service) }
        app.addServices(
            RecoveryService(
                prepare: { try await self.prepareCatalog() },
                registry: registry, committer: committer, lake: lake, progress: progress, concurrency: configuration.recoveryConcurrency,
                manifestRepairInterval: .seconds(60), logger: logger),
            refusals,
            ExpirySweeper(registry: registry, interval: .seconds(configuration.sweepIntervalSeconds), logger: logger))
        if let forwarder { app.addServices(forwarder) }
        if let tls {
            app.addServices(SIGHUPReloader(
                reloaded: "TLS certificate reloaded", failed: "TLS reload failed; the previous certificate stays in use",
                metadata: ["tls.cert": "\(tls.files.certificateChain)"], logger: logger, reload: tls.reload))
        }
        return app
    }
}

extension CoreServer {
    /// The forwarder of `[forward]`, if configured.
    func makeForwarder() throws -> ForwarderService? {
        guard let f = configuration.forward else { return nil }
        logger.notice("forwarding committed uploads", metadata: ["forward.url": "\(f.url)", "core.id": "\(coreID)"])
        return try ForwarderService(
            configuration: f, catalog: catalog, lake: lake, coreID: coreID, spoolRoot: configuration.forwardPath, logger: logger)
    }
}

extension CoreServer {
    /// Runs `body` with the catalog alone (the `sites` commands), creating the data directory of
    /// an embedded catalog if needed; PostgreSQL's pool runs beside it as a service, the schema
    /// brought up to date first.
    public static func withCatalog<T: Sendable>(
        _ c: CoreConfiguration, logger: Logger, _ body: @escaping @Sendable (any Catalog) async throws -> T
    ) async throws -> T {
        let (catalog, pg) = try makeCatalog(c, logger: logger)
        return try await ServiceScope.run(with: pg.map { [$0] } ?? [], logger: logger) {
            try await pg?.migrate()
            return try await body(catalog)
        }
    }
}
