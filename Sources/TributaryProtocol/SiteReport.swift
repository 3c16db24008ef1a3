/// `POST /v1/heartbeat`: what an edge agent reports about its backlog. The site is the token's;
/// the figures are the same as the agent's own `tributary-edge status` at `reported_at`.
public struct SiteReport: Codable, Sendable, Equatable {
    public struct Stream: Codable, Sendable, Equatable {
        public var stream: String
        public var pendingObjects: Int
        public var pendingBytes: UInt64
        public var oldestCapturedAt: String?

        public init(stream: String, pendingObjects: Int, pendingBytes: UInt64, oldestCapturedAt: String?) {
            self.stream = stream
            self.pendingObjects = pendingObjects
            self.pendingBytes = pendingBytes
            self.oldestCapturedAt = oldestCapturedAt
        }

        enum CodingKeys: String, CodingKey {
            case stream
            case pendingObjects = "pending_objects"
            case pendingBytes = "pending_bytes"
            case oldestCapturedAt = "oldest_captured_at"
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
    }
}
