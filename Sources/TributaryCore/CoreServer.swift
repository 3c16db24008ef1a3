#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Logging
import ServiceLifecycle
import TributaryProtocol

/// The core node: opens the data directory, repairs what a crash left, and serves.
public struct CoreServer: Sendable {
    public let configuration: CoreConfiguration
    public let logger: Logger
    public let catalog: any Catalog
    public let lake: any LakeStore
    public let staging: StagingArea
    public let adminToken: String

    public init(configuration: CoreConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        try FileIO.makeDirectories(configuration.dataDirectory)
        catalog = try SQLiteCatalog(path: configuration.catalogPath)
        lake = try FileSystemLake(root: configuration.lakePath)
        staging = try StagingArea(root: configuration.stagingPath)
        adminToken = try Self.loadAdminToken(configuration, logger: logger)
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
            maxDecodedBytes: configuration.maxDecodedBytes, failPoints: FailPoints(spec: configuration.failPoints), logger: logger)
    }

    /// Start-up repair: arrival manifests missing after a crash, and complete uploads whose
    /// commit was interrupted.
    public func recover(registry: UploadRegistry, committer: Committer) async throws {
        // Scratch files of interrupted commits.
        if let scratch = lake.scratchDirectory {
            for name in FileIO.list(scratch) { unlink(scratch + "/" + name) }
        }
        try await committer.repairManifests()
        for info in await registry.pendingCommits() {
            logger.notice("committing upload left complete by a previous run", metadata: ["upload.id": "\(info.id)"])
            // The outcome is recorded and logged by commitStaged; start-up goes on either way.
            try? await committer.commitStaged(info, registry: registry)
        }
    }

    /// Builds the HTTP application with its services.
    public func makeApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws -> some ApplicationProtocol {
        let (host, port) = try configuration.hostAndPort()
        let committer = try makeCommitter()
        let registry = UploadRegistry(staging: staging, catalog: catalog)
        try await recover(registry: registry, committer: committer)

        let auth = Authenticator(catalog: catalog, adminToken: adminToken)
        let router = Router()
        router.middlewares.add(JSONErrorMiddleware())
        UploadController(registry: registry, committer: committer, auth: auth, configuration: configuration, logger: logger)
            .addRoutes(to: router)
        AdminController(sites: SiteRegistry(catalog: catalog), auth: auth, lake: lake, catalog: catalog, logger: logger)
            .addRoutes(to: router)

        var app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))),
            configuration: .init(address: .hostname(host, port: port), serverName: "tributary-core"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
        app.addServices(ExpirySweeper(registry: registry, interval: .seconds(configuration.sweepIntervalSeconds), logger: logger))
        return app
    }
}

/// Removes uploads that passed their expiry without completing.
struct ExpirySweeper: Service {
    let registry: UploadRegistry
    let interval: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try await Task.sleep(for: interval)
                    let swept = await registry.sweepExpired(now: Date())
                    for id in swept { logger.info("expired upload removed", metadata: ["upload.id": "\(id)"]) }
                }
            }
        } catch is CancellationError {
            return
        }
    }
}

extension CoreServer {
    /// Opens the catalog alone (the `sites` commands), creating the data directory if needed.
    public static func openCatalog(_ c: CoreConfiguration) throws -> any Catalog {
        try FileIO.makeDirectories(c.dataDirectory)
        return try SQLiteCatalog(path: c.catalogPath)
    }
}
