import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads the TLS certificate, key and client CA on every SIGHUP (see `ServerTLS.reload`).
struct TLSReloadService: Service {
    let tls: ServerTLS
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                do {
                    try tls.reload()
                    logger.notice("TLS certificate reloaded", metadata: ["tls.cert": "\(tls.files.certificateChain)"])
                } catch {
                    logger.error("TLS reload failed; the previous certificate stays in use", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
