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
        // intake, the S3 sources and the doorbell another process's `put` rings → batcher
        // ("objects accepted"); batcher → each upload lane ("a
        // batch is built"); upload lanes → batcher ("a batch left the spool") and → reports
        // ("delivered"); a change of the current core → lanes, batcher and reports; the runtime's
        // `changed` → the status writer.
        let toBatcher = Wakeup()
        let toLanes = Dictionary(uniqueKeysWithValues: UploadLane.allCases.map { ($0, Wakeup()) })
        let toReports = Wakeup()
        let coreSwitched = CoreSwitchNotice(cores: c.coreURLs, logger: logger, wakes: Array(toLanes.values) + [toBatcher, toReports])
        var services: [any Service] = [
            IntakeService(context: context, accepted: toBatcher),
            DoorbellService(spool: c.spoolDirectory, ringing: toBatcher, fallbackMilliseconds: c.pollMilliseconds, clock: clock, logger: logger),
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
