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

/// What only the running agent knows (the journal holds the rest): written to
/// `<spool>/agent-status.json` every second it changes, read by `status`.
public struct AgentRuntimeStatus: Codable, Sendable, Equatable {
    public struct Link: Codable, Sendable, Equatable {
        public var state: LinkState.State
        public var since: String
        public var consecutiveFailures: Int
        public var lastSuccessAt: String?
        public var lastError: String?
        public var lastErrorAt: String?
        public var nextAttemptAt: String?

        enum CodingKeys: String, CodingKey {
            case state, since
            case consecutiveFailures = "consecutive_failures"
            case lastSuccessAt = "last_success_at"
            case lastError = "last_error"
            case lastErrorAt = "last_error_at"
            case nextAttemptAt = "next_attempt_at"
        }
    }

    public struct InFlight: Codable, Sendable, Equatable {
        public var batchID: Int64
        public var kind: String
        public var objects: Int
        /// Upload length in bytes.
        public var bytes: UInt64
        /// Bytes the core holds durably (its offset), plus what is on the wire in the current chunk.
        public var sent: UInt64
        public var uploadURL: String?
        public var startedAt: String

        enum CodingKeys: String, CodingKey {
            case kind, objects, bytes, sent
            case batchID = "batch_id"
            case uploadURL = "upload_url"
            case startedAt = "started_at"
        }
    }

    /// One upload lane (edge/README.md, "Delivery").
    public struct Lane: Codable, Sendable, Equatable {
        public var lane: UploadLane
        /// The PATCH size now (`ChunkSizer`: halves after a cut, doubles back after successes).
        public var chunkBytes: UInt64
        public var inFlight: InFlight?

        enum CodingKeys: String, CodingKey {
            case lane
            case chunkBytes = "chunk_bytes"
            case inFlight = "in_flight"
        }
    }

    /// Useful bytes the core kept ÷ request-body bytes put on the wire (the heartbeat's record).
    public typealias Goodput = SiteReport.Goodput

    public var pid: Int32
    public var version: String
    public var site: String
    public var startedAt: String
    public var updatedAt: String
    public var link: Link
    public var inFlight: InFlight?
    public var lastAckAt: String?
    public var bandwidthBytesPerSecond: Int64
    public var lanes: [Lane] = []
    /// Goodput of this link session (since the agent started); the total is in the journal.
    public var goodput: Goodput? = nil

    enum CodingKeys: String, CodingKey {
        case pid, version, site, link, lanes, goodput
        case startedAt = "started_at"
        case updatedAt = "updated_at"
        case inFlight = "in_flight"
        case lastAckAt = "last_ack_at"
        case bandwidthBytesPerSecond = "bandwidth_bytes_per_second"
    }
}

/// The agent's shared runtime state: the link state machine and the upload in flight.
public final class AgentRuntime: Sendable {
    private struct State {
        var link: LinkState
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
    let site: String
    let startedAt: Double
    let clock: @Sendable () -> Double
    let random: @Sendable () -> Double

    public init(configuration c: EdgeConfiguration, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        let now = clock()
        state = Mutex(State(link: LinkState(
            now: now, baseSeconds: Double(c.retryBaseMilliseconds) / 1000, capSeconds: Double(c.retryCapMilliseconds) / 1000,
            downAfter: c.downAfterFailures)))
        site = c.site
        startedAt = now
        self.clock = clock
        self.random = random
    }

    public func linkSucceeded() {
        let now = clock()
        state.withLock {
            $0.link.succeeded(now: now)
            $0.generation &+= 1
            changed.signal()
        }
    }

    /// Records a failure; returns the backoff delay in seconds.
    @discardableResult
    public func linkFailed(_ error: String, retryAfter: Double? = nil) -> Double {
        let now = clock()
        let unit = random()
        return state.withLock {
            $0.generation &+= 1
            changed.signal()
            return $0.link.failed(now: now, error: error, retryAfter: retryAfter, unit: unit)
        }
    }

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
                goodput: .init(wireBytes: s.wireBytes, goodBytes: s.goodBytes, since: ts(startedAt)))
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
