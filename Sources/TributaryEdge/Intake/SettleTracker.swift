/// Decides when an inbox file is complete. Pure: the caller passes observations and the time.
///
/// - A file seen moved in (inotify `IN_MOVED_TO`) is complete at once: a rename is atomic.
/// - Any other file is complete once its (size, mtime, inode) has stayed the same for `settle`
///   across observations — a writer that closed it and stopped, or one that is merely slow but
///   paused longer than `settle` (raise `settle_ms` for such writers).
public struct SettleTracker: Sendable {
    public struct Observation: Sendable, Equatable {
        public var size: UInt64
        public var mtimeNanoseconds: Int64
        public var inode: UInt64

        public init(size: UInt64, mtimeNanoseconds: Int64, inode: UInt64) {
            self.size = size
            self.mtimeNanoseconds = mtimeNanoseconds
            self.inode = inode
        }
    }

    private var seen: [String: (observation: Observation, since: Double)] = [:]
    private var movedIn: Set<String> = []
    public let settleSeconds: Double

    public init(settleSeconds: Double) { self.settleSeconds = settleSeconds }

    /// inotify reported `path` renamed into the inbox.
    public mutating func noteMovedIn(_ path: String) { movedIn.insert(path) }

    /// Records an observation at `now`; returns whether the file is complete.
    public mutating func observe(_ path: String, _ o: Observation, now: Double) -> Bool {
        if let prev = seen[path], prev.observation == o {
            return movedIn.contains(path) || now - prev.since >= settleSeconds
        }
        let wasMoved = movedIn.contains(path) && seen[path] == nil
        seen[path] = (o, now)
        if !wasMoved { movedIn.remove(path) }
        return wasMoved || settleSeconds <= 0
    }

    /// When the earliest file seen but not yet complete can be complete (the next scan worth
    /// making, inotify aside), or nil when no file is waiting to settle. Files already complete
    /// at `now` (taken since, or refused) are not waited for.
    public func nextSettle(after now: Double) -> Double? {
        seen.filter { !movedIn.contains($0.key) && $0.value.since + settleSeconds > now }.map { $0.value.since + settleSeconds }.min()
    }

    /// Forgets paths not in `present` (taken or gone).
    public mutating func retain(_ present: Set<String>) {
        seen = seen.filter { present.contains($0.key) }
        movedIn = movedIn.filter { present.contains($0) }
    }

    public mutating func forget(_ path: String) {
        seen[path] = nil
        movedIn.remove(path)
    }
}
