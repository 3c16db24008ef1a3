import Logging
import TributaryDelivery

/// What a change of the current core does besides `CoreFailover`'s bookkeeping: logs it and wakes
/// every service that talks to the core (upload lanes, batcher, reports), so the new core is tried
/// at once. `EdgeAgent` builds it from its wiring; the services that can switch cores call it.
public struct CoreSwitchNotice: Sendable {
    let cores: [String]
    let logger: Logger
    let wakes: [Wakeup]

    func callAsFunction(_ s: CoreFailover.Switch) {
        let metadata: Logger.Metadata = ["from": "\(cores[s.from])", "to": "\(cores[s.to])", "reason": "\(s.reason.rawValue)"]
        switch s.reason {
        case .unreachable: logger.warning("the core is unreachable; failing over to the next one", metadata: metadata)
        case .preferred: logger.notice("a preferred core answers again; returning to it", metadata: metadata)
        }
        for w in wakes { w.signal() }
    }
}
