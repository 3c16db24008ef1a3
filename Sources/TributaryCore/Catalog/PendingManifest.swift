/// A committed upload whose arrival manifests may be missing from the lake (`uploads.manifested
/// = 0`), with its arrivals. The order rule lives here, not in each backend: oldest commit first
/// (ties by upload id), each upload's arrivals by `seq` — the order the manifests were meant to
/// be written in, so a repair after a crash writes them the same way on every backend.
public struct PendingManifest: Sendable, Equatable {
    public var uploadID: String
    public var committedAt: String
    public var arrivals: [ArrivalRecord]
    /// The upload's origin core and path (`uploads.origin/path`), for its manifest lines.
    public var origin: String?
    public var path: [String]

    public init(uploadID: String, committedAt: String, arrivals: [ArrivalRecord], origin: String? = nil, path: [String] = []) {
        self.uploadID = uploadID
        self.committedAt = committedAt
        self.arrivals = arrivals
        self.origin = origin
        self.path = path
    }

    /// `pending` in repair order.
    public static func inRepairOrder(_ pending: [PendingManifest]) -> [PendingManifest] {
        pending.map { p in
            var p = p
            p.arrivals.sort { $0.seq < $1.seq }
            if p.origin != nil {
                for i in p.arrivals.indices {
                    p.arrivals[i].origin = p.origin
                    p.arrivals[i].path = p.path
                }
            }
            return p
        }.sorted { ($0.committedAt, $0.uploadID) < ($1.committedAt, $1.uploadID) }
    }
}
