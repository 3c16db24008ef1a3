/// `POST /v1/heartbeat`: what an edge agent reports about its backlog. The site is the token's;
/// the figures are the same as the agent's own `tributary-edge status` at `reported_at`.
public struct SiteReport: Codable, Sendable, Equatable {
    /// One stream's backlog: the heartbeat's, and the edge's own `status` (one definition).
    public struct Stream: Codable, Sendable, Equatable {
        public var stream: String
        /// The stream's priority at the edge: shown by `status`, left out of heartbeats (nil).
        public var priority: Int?
        public var pendingObjects: Int
        public var pendingBytes: UInt64
        public var oldestCapturedAt: String?

        public init(stream: String, priority: Int? = nil, pendingObjects: Int, pendingBytes: UInt64, oldestCapturedAt: String?) {
            self.stream = stream
            self.priority = priority
            self.pendingObjects = pendingObjects
            self.pendingBytes = pendingBytes
            self.oldestCapturedAt = oldestCapturedAt
        }

        enum CodingKeys: String, CodingKey {
            case stream, priority
            case pendingObjects = "pending_objects"
            case pendingBytes = "pending_bytes"
            case oldestCapturedAt = "oldest_captured_at"
        }
    }

    /// An object the edge set aside (quarantined) with the reason: a batch the core keeps refusing
    /// or failing to commit, or a spool file that no longer matches its sha256.
    public struct Quarantined: Codable, Sendable, Equatable {
        public var stream: String
        public var name: String
        public var size: UInt64
        public var reason: String
        public var at: String

        public init(stream: String, name: String, size: UInt64, reason: String, at: String) {
            self.stream = stream
            self.name = name
            self.size = size
            self.reason = reason
            self.at = at
        }
    }

    /// Useful bytes the core kept ÷ request-body bytes the edge put on the wire (1 on a clean
    /// link; a link that cuts chunks wastes the part of each cut chunk that was sent).
    public struct Goodput: Codable, Sendable, Equatable {
        public var wireBytes: UInt64
        public var goodBytes: UInt64
        /// good ÷ wire, to 4 decimals; nil before any byte was sent.
        public var ratio: Double?
        /// Start of the period counted (absent: since the spool was created).
        public var since: String?

        public init(wireBytes: UInt64, goodBytes: UInt64, since: String? = nil) {
            self.wireBytes = wireBytes
            self.goodBytes = goodBytes
            ratio = wireBytes > 0 ? (Double(goodBytes) / Double(wireBytes) * 10_000).rounded() / 10_000 : nil
            self.since = since
        }

        enum CodingKeys: String, CodingKey {
            case ratio, since
            case wireBytes = "wire_bytes"
            case goodBytes = "good_bytes"
        }
    }

    public var agentVersion: String
    public var reportedAt: String
    public var streams: [Stream]
    public var pendingObjects: Int
    public var pendingBytes: UInt64
    public var oldestCapturedAt: String?
    public var spoolUsedBytes: UInt64
    public var spoolMaxBytes: UInt64
    public var spoolUsedObjects: Int
    public var spoolMaxObjects: Int
    public var droppedObjects: Int64
    public var droppedBytes: Int64
    public var quarantinedObjects: Int64
    /// `connecting`, `up`, `backing-off` or `down` (a report that arrives was sent while up, but
    /// carries the last error of the outage it may have just left).
    public var linkState: String
    public var lastError: String?
    public var lastSuccessAt: String?
    // Optional (newer agents): absent from an older agent's report.
    /// The most recently quarantined objects (at most `maxQuarantinedListed`).
    public var quarantined: [Quarantined]?
    /// Goodput since the spool was created, and in the agent's current link session (since it started).
    public var goodput: Goodput?
    public var sessionGoodput: Goodput?
    /// The PATCH size of each upload lane now ("fresh", "bulk").
    public var chunkBytes: [String: UInt64]?

    /// Most quarantined objects one report lists.
    public static let maxQuarantinedListed = 20

    public init(
        agentVersion: String, reportedAt: String, streams: [Stream], pendingObjects: Int, pendingBytes: UInt64,
        oldestCapturedAt: String?, spoolUsedBytes: UInt64, spoolMaxBytes: UInt64, spoolUsedObjects: Int, spoolMaxObjects: Int,
        droppedObjects: Int64, droppedBytes: Int64, quarantinedObjects: Int64, linkState: String, lastError: String?,
        lastSuccessAt: String?
    ) {
        self.agentVersion = agentVersion
        self.reportedAt = reportedAt
        self.streams = streams
        self.pendingObjects = pendingObjects
        self.pendingBytes = pendingBytes
        self.oldestCapturedAt = oldestCapturedAt
        self.spoolUsedBytes = spoolUsedBytes
        self.spoolMaxBytes = spoolMaxBytes
        self.spoolUsedObjects = spoolUsedObjects
        self.spoolMaxObjects = spoolMaxObjects
        self.droppedObjects = droppedObjects
        self.droppedBytes = droppedBytes
        self.quarantinedObjects = quarantinedObjects
        self.linkState = linkState
        self.lastError = lastError
        self.lastSuccessAt = lastSuccessAt
    }

    enum CodingKeys: String, CodingKey {
        case streams
        case agentVersion = "agent_version"
        case reportedAt = "reported_at"
        case pendingObjects = "pending_objects"
        case pendingBytes = "pending_bytes"
        case oldestCapturedAt = "oldest_captured_at"
        case spoolUsedBytes = "spool_used_bytes"
        case spoolMaxBytes = "spool_max_bytes"
        case spoolUsedObjects = "spool_used_objects"
        case spoolMaxObjects = "spool_max_objects"
        case droppedObjects = "dropped_objects"
        case droppedBytes = "dropped_bytes"
        case quarantinedObjects = "quarantined_objects"
        case linkState = "link_state"
        case lastError = "last_error"
        case lastSuccessAt = "last_success_at"
        case quarantined, goodput
        case sessionGoodput = "session_goodput"
        case chunkBytes = "chunk_bytes"
    }
}
