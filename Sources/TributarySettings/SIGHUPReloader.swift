import Logging
import ServiceLifecycle
import UnixSignals

/// Runs `reload` on every SIGHUP until graceful shutdown — the core's TLS files, the edge's
/// token_file. A reload that throws is logged and changes nothing (the previous value stays).
public struct SIGHUPReloader: Service {
    let reloaded: Logger.Message
    let failed: Logger.Message
    let metadata: Logger.Metadata
    let logger: Logger
    let reload: @Sendable () throws -> Void

    /// `reloaded`/`failed`: the log messages; `metadata` names what is read (never a secret).
    public init(
        reloaded: Logger.Message, failed: Logger.Message, metadata: Logger.Metadata, logger: Logger,
        reload: @escaping @Sendable () throws -> Void
    ) {
        self.reloaded = reloaded
        self.failed = failed
        self.metadata = metadata
        self.logger = logger
        self.reload = reload
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                do {
                    try reload()
                    logger.notice(reloaded, metadata: metadata)
                } catch {
                    logger.error(failed, metadata: metadata.merging(["error": "\(error)"]) { $1 })
                }
            }
        }
    }
}
