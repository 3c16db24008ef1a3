import Logging
import ServiceLifecycle
import Synchronization
import TributarySettings
import UnixSignals

/// The site token every client of the agent sends, shared so that a new one read from
/// `token_file` on SIGHUP (`SiteTokenReloader`) is used from the next request on.
public final class SiteToken: Sendable {
    private let value: Mutex<String>

    public init(_ token: String) { value = Mutex(token) }

    public var current: String { value.withLock { $0 } }

    func replace(_ token: String) { value.withLock { $0 = token } }
}

/// Re-reads `token_file` on every SIGHUP (after `sites rotate` at the core). A file that cannot be
/// read or is empty keeps the current token; the token itself is never logged.
struct SiteTokenReloader: Service {
    let token: SiteToken
    let file: String
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                do {
                    token.replace(try TOMLSettings.secret(file: file, key: "token_file"))
                    logger.notice("token re-read from token_file", metadata: ["file": "\(file)"])
                } catch {
                    logger.error("token_file could not be re-read; the current token stays", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
