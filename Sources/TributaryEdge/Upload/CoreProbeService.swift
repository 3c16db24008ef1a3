import Logging
import ServiceLifecycle
import TributaryCurl
import TributaryDelivery

/// Brings the agent back to a more preferred core once it answers again: while the current core
/// is not the first in `core`, every `failback_probe_seconds` it asks the cores before it, in
/// order, an empty have-check (authenticated: a core that refuses the site's token is not one to
/// return to). The decisions are `CoreFailover`'s; this only runs the probes. Runs only with more
/// than one core configured; on the preferred core it waits for a switch, with no timer.
final class CoreProbeService: Service, @unchecked Sendable {
    let context: AgentContext
    /// One per configured core (its own connections: a probe never waits behind a PATCH).
    let clients: [TusClient]
    let coreSwitched: CoreSwitchNotice

    init(context: AgentContext, clients: [TusClient], coreSwitched: CoreSwitchNotice) {
        precondition(clients.count == context.configuration.coreURLs.count, "a client per core")
        self.context = context
        self.clients = clients
        self.coreSwitched = coreSwitched
    }

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await self.loop() }
    }

    private func loop() async throws {
        let runtime = context.runtime
        while !Task.isCancelled {
            guard let wait = runtime.secondsUntilProbe() else {
                // On the preferred core: nothing to probe until a fail-over.
                await runtime.coreChanged.wait(milliseconds: 3_600_000, clock: context.clock)
                continue
            }
            if wait > 0 {
                await runtime.coreChanged.wait(milliseconds: Int((wait * 1000).rounded(.up)), clock: context.clock)
                continue
            }
            for target in runtime.probeTargets() {
                let client = clients[target.index]
                let reachable: Bool
                do {
                    _ = try await withTaskCancellationHandler {
                        try await BlockingThread.run { () throws(UploadError) -> Set<String> in try client.have([]) }
                    } onCancel: {
                        client.cancel()
                    }
                    reachable = true
                } catch {
                    context.logger.debug("a preferred core does not answer yet", metadata: ["core": "\(target.url)", "error": "\(error)"])
                    reachable = false
                }
                if Task.isCancelled { return }
                if let s = runtime.probed(core: target.index, reachable: reachable) {
                    coreSwitched(s)
                    break
                }
            }
        }
    }
}
