#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The durable record of one staged upload's commit attempts (`staging/<id>/attempts`), and the
/// rule that sets a poison upload aside instead of retrying it forever.
///
/// An attempt is counted `started` (fsync'd) before it begins and `ended` when it returns, so an
/// attempt that never ended killed the node (a trap, an OOM kill, kill -9). One such crash is
/// retried — an operator's kill -9 must not cost an upload — but `maxCrashes` of them quarantine
/// it, so an input that crashes the core cannot crash it on every restart. A transient failure
/// while the lake and catalog answer (so the trouble is the upload's, e.g. a disk it fills) counts
/// as a `failure`; `maxFailures` of those quarantine it too. Failures during a backend outage
/// are not counted: the upload waits for the backend as long as it takes.
public struct CommitAttempts: Codable, Sendable, Equatable {
    public var started = 0
    public var ended = 0
    public var failures = 0
    public var lastError: String?

    public init(started: Int = 0, ended: Int = 0, failures: Int = 0, lastError: String? = nil) {
        self.started = started
        self.ended = ended
        self.failures = failures
        self.lastError = lastError
    }

    /// Attempts that began and never returned.
    public var crashes: Int { max(0, started - ended) }

    public struct Policy: Sendable, Equatable {
        /// Interrupted attempts after which the upload is quarantined. Default 2.
        public var maxCrashes = 2
        /// Failures while the backends answer after which the upload is quarantined. Default 5.
        public var maxFailures = 5
        public init(maxCrashes: Int = 2, maxFailures: Int = 5) {
            self.maxCrashes = max(1, maxCrashes)
            self.maxFailures = max(1, maxFailures)
        }
    }

    /// Why the upload must be set aside rather than attempted again, or nil.
    public func quarantineReason(_ policy: Policy) -> String? {
        if crashes >= policy.maxCrashes {
            return "its commit was interrupted \(crashes) times (the node stopped during it)"
        }
        if failures >= policy.maxFailures {
            return "its commit failed \(failures) times while the lake and catalog answered; last: \(lastError ?? "unknown")"
        }
        return nil
    }

    public mutating func begin() { started += 1 }

    /// `counted`: the failure happened while the backends answered.
    public mutating func failed(_ error: String, counted: Bool) {
        ended += 1
        if counted { failures += 1 }
        lastError = String(error.prefix(500))
    }

    enum CodingKeys: String, CodingKey {
        case started, ended, failures
        case lastError = "last_error"
    }
}

/// What `quarantine/<id>/reason.json` holds.
public struct QuarantineRecord: Codable, Sendable, Equatable {
    public var uploadID: String
    public var site: String
    public var reason: String
    public var quarantinedAt: String
    public var attempts: CommitAttempts

    enum CodingKeys: String, CodingKey {
        case uploadID = "upload_id"
        case site, reason
        case quarantinedAt = "quarantined_at"
        case attempts
    }
}
