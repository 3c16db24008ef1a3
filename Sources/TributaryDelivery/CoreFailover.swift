/// Which of several cores a sender delivers to, as a pure state machine: the caller reports what
/// each request to a core came to and the time, and it answers when to switch. No I/O, no clock
/// (Tests/TributaryEdgeTests/CoreFailoverTests.swift).
///
/// The cores are listed in preference order; the first is the **preferred** one. One core is
/// *current* at a time: every request (have-check, creation, PATCH, receipt, heartbeat) goes to it.
///
/// The rules, one place each:
/// - **Unreachable** means no HTTP answer (connection refused, a timeout, a cut or stalled
///   transfer) or 502/503/504 (a proxy in front of it says it is gone). Any other answer, even an
///   error (401, 409, 422, 500), shows the core is there: it ends the run of unreachable outcomes.
/// - **Fail over** when the current core has been unreachable `failAfter` times in a row *and* for
///   at least `windowSeconds` since the first of them: one failed request, or a burst of them in
///   a second, never moves the agent. The next core is the following one in the list, wrapping
///   around (with every core down the agent keeps cycling at the pace of the link's backoff).
/// - **Return** to a more preferred core: while the current core is not the preferred one, every
///   `probeSeconds` the cores before it in the list are probed, in order; the first that answers
///   (the caller's probe: an authenticated request that succeeded) becomes current. A failed probe
///   changes nothing but the time of the next one.
/// - An outcome reported for a core that is no longer current (a request that was in flight when
///   the switch happened) is ignored.
/// - Each switch is returned to the caller, who resets the link's backoff (a new core is tried at
///   once) and forgets upload URLs of the other core (a tus upload belongs to one core).
public struct CoreFailover: Sendable, Equatable {
    /// A change of the current core.
    public struct Switch: Sendable, Equatable {
        public var from: Int
        public var to: Int
        /// `unreachable` (failed over) or `preferred` (returned after a probe).
        public var reason: Reason
        public enum Reason: String, Sendable {
            case unreachable
            case preferred
        }

        public init(from: Int, to: Int, reason: Reason) {
            self.from = from
            self.to = to
            self.reason = reason
        }
    }

    public let cores: [String]
    public let failAfter: Int
    public let windowSeconds: Double
    public let probeSeconds: Double

    /// Index in `cores` of the core requests go to.
    public private(set) var current = 0
    /// When the current core became current.
    public private(set) var since: Double
    /// Unreachable outcomes in a row on the current core, and when the first of them came.
    public private(set) var unreachableRun = 0
    public private(set) var runStartedAt: Double?
    /// When the more preferred cores are probed next (nil while on the preferred core).
    public private(set) var nextProbeAt: Double?
    /// Switches since start, by reason.
    public private(set) var failovers = 0
    public private(set) var returns = 0

    /// - Parameters:
    ///   - cores: base URLs in preference order (at least one).
    ///   - failAfter: unreachable outcomes in a row before a switch (≥ 1).
    ///   - windowSeconds: how long they must have lasted, from the first.
    ///   - probeSeconds: the period of the probes of more preferred cores.
    public init(cores: [String], now: Double, failAfter: Int, windowSeconds: Double, probeSeconds: Double) {
        precondition(!cores.isEmpty, "at least one core")
        self.cores = cores
        self.failAfter = max(1, failAfter)
        self.windowSeconds = max(0, windowSeconds)
        self.probeSeconds = max(0, probeSeconds)
        since = now
    }

    public var currentURL: String { cores[current] }

    /// Whether an error is one that counts as the core being unreachable.
    public static func isUnreachable(status: Int?) -> Bool {
        guard let status else { return true }
        return status == 502 || status == 503 || status == 504
    }

    /// The core answered (a success, or an error that is not `isUnreachable`).
    public mutating func answered(core: Int) {
        guard core == current else { return }
        unreachableRun = 0
        runStartedAt = nil
    }

    /// A request to `core` found it unreachable. Returns the switch to make, if it is time.
    public mutating func unreachable(core: Int, now: Double) -> Switch? {
        guard core == current else { return nil }
        unreachableRun += 1
        let first = runStartedAt ?? now
        runStartedAt = first
        guard cores.count > 1, unreachableRun >= failAfter, now - first >= windowSeconds else { return nil }
        failovers += 1
        return move(to: (current + 1) % cores.count, reason: .unreachable, now: now)
    }

    /// The cores to probe now, in order (empty when on the preferred core or not yet due). Asking
    /// when due schedules the next round.
    public mutating func probeTargets(now: Double) -> [Int] {
        guard current > 0, let due = nextProbeAt, now >= due else { return [] }
        nextProbeAt = now + probeSeconds
        return Array(0..<current)
    }

    /// Seconds until the next probe round (nil: none is planned, the preferred core is current).
    public func secondsUntilProbe(now: Double) -> Double? {
        nextProbeAt.map { max(0, $0 - now) }
    }

    /// The result of probing `core`. A reachable core more preferred than the current one becomes current.
    public mutating func probed(core: Int, reachable: Bool, now: Double) -> Switch? {
        guard reachable, core >= 0, core < current else { return nil }
        returns += 1
        return move(to: core, reason: .preferred, now: now)
    }

    private mutating func move(to core: Int, reason: Switch.Reason, now: Double) -> Switch {
        let s = Switch(from: current, to: core, reason: reason)
        current = core
        since = now
        unreachableRun = 0
        runStartedAt = nil
        nextProbeAt = core > 0 ? now + probeSeconds : nil
        return s
    }

    /// Whether `url` (an upload URL) belongs to the current core: same scheme, host and port
    /// (`CoreOrigin`). An upload on another core is never resumed here: it is created again.
    public func isOnCurrentCore(_ url: String) -> Bool { Self.upload(url, isOn: currentURL) }

    /// Whether `url` (an upload URL) is on the origin of the core at `coreURL`.
    public static func upload(_ url: String, isOn coreURL: String) -> Bool {
        guard let mine = CoreOrigin(coreURL), let other = CoreOrigin(url) else { return false }
        return mine == other
    }
}
