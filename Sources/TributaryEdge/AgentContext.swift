import Logging
import TributaryDelivery

/// What the agent's services share: settings, the spool, the live runtime state, the logger,
/// and the nudges they give each other.
public struct AgentContext: Sendable {
    public let configuration: EdgeConfiguration
    public let spool: SpoolIntake
    public let runtime: AgentRuntime
    public let logger: Logger
    /// "Files may be waiting in the inbox", "objects were accepted", "a batch is built".
    public let intakeWake = Wakeup()
    public let batcherWake = Wakeup()
    /// One per upload lane: "a batch is built" wakes both (`wakeUploaders`).
    public let laneWakes: [UploadLane: Wakeup] = [.fresh: Wakeup(), .bulk: Wakeup()]
    /// "Something was delivered": report the new backlog now.
    public let reportWake = Wakeup()
    /// Per-stream zstd dictionaries, shared by the batch builder and the uploaders.
    public let dictionaries: StreamDictionaries

    public init(configuration: EdgeConfiguration, spool: SpoolIntake, runtime: AgentRuntime, logger: Logger) {
        self.configuration = configuration
        self.spool = spool
        self.runtime = runtime
        self.logger = logger
        dictionaries = StreamDictionaries(spoolDirectory: spool.directory, policy: DictionaryPolicy(configuration: configuration))
    }

    public func wakeUploaders() { for w in laneWakes.values { w.signal() } }

    var builder: BatchBuilder { BatchBuilder(spoolDirectory: spool.directory, zstdLevel: configuration.zstdLevel, dictionaries: dictionaries) }
}
