import Synchronization

/// What the running forwarder knows that the catalog does not (read by `/metrics` and the fleet
/// view; the cursor, the backlog and the last success come from the catalog, so they survive a
/// restart and every node sharing it reports the same).
public final class ForwardStatus: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var target: String
        public var rpoSeconds: Double
        public var targetCoreID: String?
        public var bytesSent: UInt64 = 0
        public var delivered: UInt64 = 0
        public var setAside: UInt64 = 0
        public var skipped: UInt64 = 0
        public var lastError: String?
        public var lastErrorAt: Double?
    }

    private let state: Mutex<Snapshot>

    init(target: String, rpoSeconds: Double) {
        state = Mutex(Snapshot(target: target, rpoSeconds: rpoSeconds))
    }

    public var snapshot: Snapshot { state.withLock { $0 } }
    var targetCoreID: String? { state.withLock { $0.targetCoreID } }

    func learned(coreID: String?) {
        guard let coreID else { return }
        state.withLock { $0.targetCoreID = coreID }
    }
    func sent(bytes: UInt64) { state.withLock { $0.bytesSent += bytes } }
    func delivered(at: Double) {
        state.withLock {
            $0.delivered += 1
            $0.lastError = nil
        }
    }
    func caughtUp(at: Double) { state.withLock { $0.lastError = nil } }
    func setAside() { state.withLock { $0.setAside += 1 } }
    func skipped() { state.withLock { $0.skipped += 1 } }
    func failed(_ reason: String, at: Double) {
        state.withLock {
            $0.lastError = reason
            $0.lastErrorAt = at
        }
    }
}
