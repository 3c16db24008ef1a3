#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryDelivery
import TributaryProtocol

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

    /// The core the agent sends to now, among those configured (`CoreFailover`).
    public struct Core: Codable, Sendable, Equatable {
        public var url: String
        /// Its place in `core` (0: the preferred one).
        public var index: Int
        public var since: String
        /// Every configured core, in preference order.
        public var cores: [String]
        /// Switches since the agent started: away from an unreachable core, and back to a preferred one.
        public var failovers: Int
        public var returns: Int
        public var nextProbeAt: String?

        enum CodingKeys: String, CodingKey {
            case url, index, since, cores, failovers, returns
            case nextProbeAt = "next_probe_at"
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
    /// Optional: a status written by an older agent has none.
    public var core: Core? = nil

    enum CodingKeys: String, CodingKey {
        case pid, version, site, link, lanes, goodput, core
        case startedAt = "started_at"
        case updatedAt = "updated_at"
        case inFlight = "in_flight"
        case lastAckAt = "last_ack_at"
        case bandwidthBytesPerSecond = "bandwidth_bytes_per_second"
    }
}
