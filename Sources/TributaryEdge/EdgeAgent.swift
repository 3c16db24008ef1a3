#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import ServiceLifecycle
import TributaryCurl
import TributaryDelivery
import TributaryFiles
import TributaryProtocol
import TributarySettings

/// The running agent: intake, batcher, uploader, reports and status writer as services of one group.
/// `run` in the CLI adds signal handling; tests may build the same services.
public struct EdgeAgent {
    public let services: [any Service]
    public let spool: SpoolIntake
    public let runtime: AgentRuntime
    let lock: SpoolLock

    /// `clock`: every service's time and timers (a `ManualClock` lets a test drive them).
    public init(configuration c: EdgeConfiguration, logger: Logger, clock: any ServiceClock = SystemClock()) throws {
        try c.validateForRun()
        spool = try SpoolIntake(directory: c.spoolDirectory, logger: logger)
        lock = try SpoolLock(spool: c.spoolDirectory)
        try spool.removeLeftovers()
        runtime = AgentRuntime(configuration: c, clock: { clock.now() })
        var options = TransferOptions()
        options.connectTimeout = c.connectTimeoutSeconds
        options.lowSpeedLimit = 1024
        options.lowSpeedTime = c.stallSeconds
        options.caFile = c.caFile
        options.clientCertificate = c.clientCert
        options.clientKey = c.clientKey
        options.maxResponseBytes = 16 << 20
        // One client (connection) per service, upload lane and core, so the have-check never waits
        // behind a PATCH; each service talks to the current core (`CoreFailover`).
        let token = SiteToken(c.token)
        let perCore = { c.coreURLs.map { TusClient(baseURL: $0, token: token, options: options) } }
        let context = AgentContext(configuration: c, spool: spool, runtime: runtime, logger: logger, clock: clock)
        // How the services nudge each other, each a `Wakeup` its receiver waits on (no polling):
        // intake and the S3 sources → batcher ("objects accepted"); batcher → each upload lane ("a
        // batch is built"); upload lanes → batcher ("a batch left the spool") and → reports
        // ("delivered"); a change of the current core → lanes, batcher and reports; the runtime's
        // `changed` → the status writer.
        let toBatcher = Wakeup()
        let toLanes = Dictionary(uniqueKeysWithValues: UploadLane.allCases.map { ($0, Wakeup()) })
        let toReports = Wakeup()
        let coreSwitched = CoreSwitchNotice(cores: c.coreURLs, logger: logger, wakes: Array(toLanes.values) + [toBatcher, toReports])
        var services: [any Service] = [
            IntakeService(context: context, accepted: toBatcher),
            BatcherService(context: context, clients: perCore(), wake: toBatcher, lanes: Array(toLanes.values), coreSwitched: coreSwitched),
            UploaderService(
                context: context,
                clients: Dictionary(uniqueKeysWithValues: UploadLane.allCases.map { ($0, perCore()) }),
                wakes: toLanes, spoolFreed: toBatcher, delivered: toReports, coreSwitched: coreSwitched),
            ReportService(context: context, clients: perCore(), deliveries: toReports),
            StatusWriterService(runtime: runtime, spool: c.spoolDirectory, logger: logger, clock: clock),
        ]
        if c.coreURLs.count > 1 { services.append(CoreProbeService(context: context, clients: perCore(), coreSwitched: coreSwitched)) }
        for source in c.sources { services.append(S3SourceService(context: context, settings: source, accepted: toBatcher)) }
        if let file = c.tokenFile {
            // After `sites rotate` at the core: the new token from the file, the token itself never logged.
            services.append(SIGHUPReloader(
                reloaded: "token re-read from token_file", failed: "token_file could not be re-read; the current token stays",
                metadata: ["file": "\(file)"], logger: logger
            ) { token.replace(try TOMLSettings.secret(file: file, key: "token_file")) })
        }
        self.services = services
        logger.notice("tributary-edge starting", metadata: [
            "site": "\(c.site)", "core": "\(c.coreURLs.joined(separator: ","))", "inbox": "\(c.inboxDirectory)", "spool": "\(c.spoolDirectory)",
            "version": "\(tributaryEdgeVersion)",
        ])
    }
}

/// `tributary-edge put`: takes files into the spool of a (running or stopped) agent and returns
/// once they are durable. The originals are left alone, or with `move` removed once accepted (then
/// the spool may take each file itself by a hard link, `IntakeMethod`; a file already taken by an
/// earlier `put --move` that died before removing it is removed, not taken twice).
public enum EdgePut {
    public static func put(
        files: [String], stream: String, capturedAt: String?, move: Bool = false, configuration c: EdgeConfiguration, logger: Logger
    ) throws -> IntakeResult {
        var captured: String? = nil
        if let capturedAt {
            do { captured = Timestamp.format(try Timestamp.parse(capturedAt)) } catch {
                throw ConfigurationError("--captured-at: \(error)")
            }
        }
        do { try Names.validateStream(stream) } catch { throw ConfigurationError("--stream: \(error)") }
        let spool = try SpoolIntake(directory: c.spoolDirectory, logger: logger)
        var items = files.map { path in
            IntakeItem(
                sourcePath: path, stream: stream, name: String(path.split(separator: "/").last ?? Substring(path)), capturedAt: captured,
                rememberSource: move, removesSource: move)
        }
        guard move else { return try spool.ingest(items, configuration: c) }
        items = items.filter { item in
            guard let taken = TakenFile.of(item.sourcePath), (try? spool.journal.wasTaken(taken)) == true else { return true }
            unlink(item.sourcePath)
            return false
        }
        let result = try spool.ingest(items, configuration: c)
        var dirs = Set<String>()
        for o in result.accepted {
            guard let src = o.source?.path else { continue }
            unlink(src)
            dirs.insert(FileIO.dirname(of: src))
        }
        for d in dirs { try? FileIO.fsyncDirectory(d) }
        return result
    }
}

/// `tributary-edge retry-quarantined`: puts set-aside objects back to pending (the running agent,
/// if any, batches them on its next pass; the journal's locking orders the two processes).
public enum EdgeRetry {
    public static func retryQuarantined(configuration c: EdgeConfiguration, includingCorrupt: Bool) throws -> Int {
        guard FileIO.exists(c.spoolDirectory + "/journal.sqlite") else {
            throw ConfigurationError("no spool at \(c.spoolDirectory) (no journal.sqlite): pass --spool or --config of the agent")
        }
        let journal = try Journal(spoolDirectory: c.spoolDirectory)
        return try journal.retryQuarantined(acceptedAt: Timestamp.format(Date()), includingCorrupt: includingCorrupt)
    }
}
