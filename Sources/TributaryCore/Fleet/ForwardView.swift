#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

/// The recovery point of one forward target as the fleet API, the dashboard and `/metrics`
/// show it — read from the catalog (cursor and backlog), so every node sharing it and every
/// restart shows the same figures.
///
/// `lag_seconds` is the age of the oldest committed-but-unforwarded upload (now − its
/// committed_at), 0 when caught up: the data that a loss of this core now would lose is at most
/// that old. `behind` is true when it exceeds `rpo_seconds` (the alert's condition).
public struct ForwardView: Sendable, Encodable, Equatable {
    public var target: String
    public var rpoSeconds: Double
    /// The last commit_seq acknowledged (or set aside).
    public var position: Int64
    public var lagSeconds: Double
    public var uploadsBehind: Int64
    public var objectsBehind: Int64
    public var bytesBehind: Int64
    public var lastSuccessAt: String?
    public var setAside: Int64
    public var behind: Bool
    /// `lastSuccessAt` as Unix seconds (whole).
    public var lastSuccessUnixSeconds: Double? {
        lastSuccessAt.flatMap { try? Timestamp.parse($0) }.map { $0.timeIntervalSince1970.rounded(.down) }
    }

    public init(cursor: ForwardCursor, backlog: ForwardBacklog, rpoSeconds: Double, now: Date) {
        target = cursor.target
        self.rpoSeconds = rpoSeconds
        position = cursor.position
        let oldest = backlog.oldestCommittedAt.flatMap { try? Timestamp.parse($0) }
        lagSeconds = oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0
        uploadsBehind = backlog.uploads
        objectsBehind = backlog.objects
        bytesBehind = backlog.bytes
        lastSuccessAt = cursor.lastSuccessAt
        setAside = cursor.setAside
        behind = lagSeconds > rpoSeconds
    }

    enum CodingKeys: String, CodingKey {
        case target, position, behind
        case rpoSeconds = "rpo_seconds"
        case lagSeconds = "lag_seconds"
        case uploadsBehind = "uploads_behind"
        case objectsBehind = "objects_behind"
        case bytesBehind = "bytes_behind"
        case lastSuccessAt = "last_success_at"
        case setAside = "set_aside"
    }

    /// The view of `target` now.
    static func read(_ catalog: any Catalog, target: String, rpoSeconds: Double, now: Date) async throws -> ForwardView {
        let cursor = try await catalog.forwardCursor(target: target)
        let backlog = try await catalog.forwardBacklog(after: cursor.position)
        return ForwardView(cursor: cursor, backlog: backlog, rpoSeconds: rpoSeconds, now: now)
    }
}
