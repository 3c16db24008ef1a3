#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization
import TributaryDelivery
import TributaryFiles
import TributaryProtocol

public let tributaryEdgeVersion = "0.2.0"

/// The agent's shared runtime state: the link state machine (the link to the current core), which
/// core is current (`CoreFailover`) and the upload in flight.
public final class AgentRuntime: Sendable {
    private struct State {
        var link: LinkState
        var failover: CoreFailover
        var inFlight: [UploadLane: AgentRuntimeStatus.InFlight] = [:]
        var chunk: [UploadLane: UInt64] = [:]
        var wireBytes: UInt64 = 0
        var goodBytes: UInt64 = 0
        var lastAckAt: Double?
        var bandwidth: Int64 = 0
        var generation: UInt64 = 0
    }

    private let state: Mutex<State>
    /// Signalled on every change of the live view (the status writer waits on it).
    public let changed = Wakeup()
    /// Signalled when the current core changes (the probe service starts or stops probing).
    public let coreChanged = Wakeup()
    let site: String
    let startedAt: Double
    let clock: @Sendable () -> Double
    let random: @Sendable () -> Double

    public init(configuration c: EdgeConfiguration, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        let now = clock()
        let settings = (Double(c.retryBaseMilliseconds) / 1000, Double(c.retryCapMilliseconds) / 1000, c.downAfterFailures)
        linkSettings = settings
        state = Mutex(State(
            link: Self.newLink(settings, now: now),
            failover: CoreFailover(
                cores: c.coreURLs, now: now, failAfter: c.downAfterFailures, windowSeconds: c.failoverAfterSeconds,
                probeSeconds: c.failbackProbeSeconds)))
        site = c.site
        startedAt = now
        self.clock = clock
        self.random = random
    }

    private let linkSettings: (base: Double, cap: Double, downAfter: Int)

    /// A link to a core nobody has talked to yet (at start, and after each switch of core).
    private static func newLink(_ s: (base: Double, cap: Double, downAfter: Int), now: Double) -> LinkState {
        LinkState(now: now, baseSeconds: s.base, capSeconds: s.cap, downAfter: s.downAfter)
    }

    /// The core requests go to now: its index in `core` and its base URL.
    public var currentCore: (index: Int, url: String) { state.withLock { ($0.failover.current, $0.failover.currentURL) } }

    /// A request to `core` (default: the current one) succeeded. An answer from a core that is no
    /// longer current (a request in flight across a switch) is ignored.
    public func linkSucceeded(core: Int? = nil) {
        let now = clock()
        state.withLock {
            guard core == nil || core == $0.failover.current else { return }
            $0.link.succeeded(now: now)
            $0.failover.answered(core: $0.failover.current)
            $0.generation &+= 1
            changed.signal()
        }
    }

    /// Records a failure; returns the backoff delay in seconds.
    @discardableResult
    public func linkFailed(_ error: String, retryAfter: Double? = nil) -> Double {
        linkFailed(error, retryAfter: retryAfter, core: nil, unreachable: false).delay
    }

    /// Records a failure of a request to `core` (nil: the current one); `unreachable` when it got
    /// no answer (`CoreFailover.isUnreachable`). Returns the backoff delay in seconds and the
    /// switch to another core it caused, if any: the link to the new core starts afresh (delay 0).
    /// A failure from a core that is no longer current changes nothing (delay 0: go on at once).
    public func linkFailed(_ error: String, retryAfter: Double? = nil, core: Int?, unreachable: Bool) -> (delay: Double, switched: CoreFailover.Switch?) {
        let now = clock()
        let unit = random()
        let settings = linkSettings
        let result: (Double, CoreFailover.Switch?) = state.withLock {
            let on = core ?? $0.failover.current
            guard on == $0.failover.current else { return (0, nil) }
            $0.generation &+= 1
            changed.signal()
            let delay = $0.link.failed(now: now, error: error, retryAfter: retryAfter, unit: unit)
            guard unreachable else {
                $0.failover.answered(core: on)
                return (delay, nil)
            }
            guard let s = $0.failover.unreachable(core: on, now: now) else { return (delay, nil) }
            $0.link = Self.newLink(settings, now: now)
            return (0, s)
        }
        if result.1 != nil { coreChanged.signal() }
        return result
    }

    /// The cores to probe now (more preferred than the current one), when a round is due.
    public func probeTargets() -> [(index: Int, url: String)] {
        let now = clock()
        return state.withLock { s in s.failover.probeTargets(now: now).map { ($0, s.failover.cores[$0]) } }
    }

    /// Seconds until the next probe round; nil while the preferred core is current.
    public func secondsUntilProbe() -> Double? {
        let now = clock()
        return state.withLock { $0.failover.secondsUntilProbe(now: now) }
    }

    /// The result of a probe; a reachable, more preferred core becomes current (returned).
    public func probed(core: Int, reachable: Bool) -> CoreFailover.Switch? {
        let now = clock()
        let settings = linkSettings
        let s: CoreFailover.Switch? = state.withLock {
            guard let s = $0.failover.probed(core: core, reachable: reachable, now: now) else { return nil }
            $0.link = Self.newLink(settings, now: now)
            $0.link.succeeded(now: now)
            $0.generation &+= 1
            changed.signal()
            return s
        }
        if s != nil { coreChanged.signal() }
        return s
    }

    /// The configured core URL at `index`.
    public func coreURL(_ index: Int) -> String { state.withLock { $0.failover.cores[index] } }

    /// Seconds until the link may be tried again (0: now).
    public func secondsUntilAttempt() -> Double {
        let now = clock()
        return state.withLock { s in max(0, (s.link.nextAttemptAt ?? now) - now) }
    }

    public var link: LinkState { state.withLock { $0.link } }

    public func setInFlight(_ f: AgentRuntimeStatus.InFlight?, lane: UploadLane) {
        state.withLock {
            $0.inFlight[lane] = f
            $0.generation &+= 1
            changed.signal()
        }
    }

    /// Clears every lane's upload in flight (the agent is stopping).
    public func clearInFlight() {
        state.withLock {
            $0.inFlight = [:]
            $0.generation &+= 1
            changed.signal()
        }
    }

    public func progress(sent: UInt64, lane: UploadLane) {
        state.withLock {
            if $0.inFlight[lane] != nil, $0.inFlight[lane]!.sent != sent {
                $0.inFlight[lane]!.sent = sent
                $0.generation &+= 1
            changed.signal()
            }
        }
    }

    public func setChunk(_ bytes: UInt64, lane: UploadLane) {
        state.withLock {
            if $0.chunk[lane] != bytes {
                $0.chunk[lane] = bytes
                $0.generation &+= 1
            changed.signal()
            }
        }
    }

    /// Counts request-body bytes put on the wire and, of them, bytes the core kept.
    public func transferred(wire: UInt64, good: UInt64) {
        state.withLock {
            $0.wireBytes += wire
            $0.goodBytes += good
            $0.generation &+= 1
            changed.signal()
        }
    }

    /// Lanes with an upload in flight now (the bandwidth cap is shared between them).
    public var activeLanes: Int { state.withLock { $0.inFlight.count } }

    public func acknowledged() {
        let now = clock()
        state.withLock {
            $0.lastAckAt = now
            $0.generation &+= 1
            changed.signal()
        }
    }

    public func setBandwidth(_ b: Int64) {
        state.withLock {
            if $0.bandwidth != b {
                $0.bandwidth = b
                $0.generation &+= 1
            changed.signal()
            }
        }
    }

    /// A change counter: the status writer writes only when it moved.
    public var generation: UInt64 { state.withLock { $0.generation } }

    public func snapshot() -> AgentRuntimeStatus {
        let now = clock()
        return state.withLock { s in
            func ts(_ t: Double?) -> String? { t.map { Timestamp.format(Date(timeIntervalSince1970: $0)) } }
            return AgentRuntimeStatus(
                pid: getpid(), version: tributaryEdgeVersion, site: site, startedAt: ts(startedAt)!, updatedAt: ts(now)!,
                link: .init(
                    state: s.link.state, since: ts(s.link.since)!, consecutiveFailures: s.link.consecutiveFailures,
                    lastSuccessAt: ts(s.link.lastSuccessAt), lastError: s.link.lastError, lastErrorAt: ts(s.link.lastErrorAt),
                    nextAttemptAt: ts(s.link.nextAttemptAt)),
                inFlight: s.inFlight.values.max { $0.bytes < $1.bytes }, lastAckAt: ts(s.lastAckAt), bandwidthBytesPerSecond: s.bandwidth,
                lanes: UploadLane.allCases.compactMap { l in
                    s.chunk[l].map { AgentRuntimeStatus.Lane(lane: l, chunkBytes: $0, inFlight: s.inFlight[l]) }
                },
                goodput: .init(wireBytes: s.wireBytes, goodBytes: s.goodBytes, since: ts(startedAt)),
                core: .init(
                    url: s.failover.currentURL, index: s.failover.current, since: ts(s.failover.since)!, cores: s.failover.cores,
                    failovers: s.failover.failovers, returns: s.failover.returns, nextProbeAt: ts(s.failover.nextProbeAt)))
        }
    }

    public static func statusPath(spool: String) -> String { spool + "/agent-status.json" }

    /// Writes the snapshot atomically (not fsync'd: it is a live view, rebuilt at every start).
    public func write(spool: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try FileIO.replace(Self.statusPath(spool: spool), Array(try enc.encode(snapshot())))
    }
}
