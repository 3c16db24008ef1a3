import Logging
import TributaryDelivery

/// What the agent's services share: settings, the spool, the live runtime state, the logger and
/// the clock they read and wait on. The nudges they give each other are not here: each service
/// is handed the `Wakeup`s it waits on and those it signals (wired in `EdgeAgent`).
public struct AgentContext: Sendable {
    public let configuration: EdgeConfiguration
    public let spool: SpoolIntake
    public let runtime: AgentRuntime
    public let logger: Logger
    /// Every service's time and timers (`SystemClock`; a `ManualClock` in unit tests).
    public let clock: any ServiceClock
    /// Per-stream zstd dictionaries, shared by the batch builder and the uploaders.
    public let dictionaries: StreamDictionaries
    /// The compressor's and the link's measurements that pick a large segment's zstd level
    /// (`LevelPolicy`), fed by the batch builder and the upload lanes.
    public let levels: LevelMeasurements

    public init(
        configuration: EdgeConfiguration, spool: SpoolIntake, runtime: AgentRuntime, logger: Logger,
        clock: any ServiceClock = SystemClock()
    ) {
        self.configuration = configuration
        self.spool = spool
        self.runtime = runtime
        self.logger = logger
        self.clock = clock
        levels = LevelMeasurements(logger: logger)
        dictionaries = StreamDictionaries(spoolDirectory: spool.directory, policy: DictionaryPolicy(configuration: configuration))
    }

    var builder: BatchBuilder { BatchBuilder(
            spoolDirectory: spool.directory, zstdLevel: configuration.zstdLevel,
            compression: SegmentCompression(configuration: configuration, measurements: levels), dictionaries: dictionaries) }
}
