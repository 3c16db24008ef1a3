/// Decides when an inbox file is complete. Pure: the caller passes observations and the time.
///
/// - A file seen moved in (inotify `IN_MOVED_TO`) is complete at once: a rename is atomic.
/// - Any other file is complete once its (size, mtime, inode) has stayed the same for `settle`
///   across observations — a writer that closed it and stopped, or one that is merely slow but
///   paused longer than `settle` (raise `settle_ms` for such writers).
///
/// Bounded: it tracks at most `capacity` files and remembers at most `capacity` renames, whatever
/// the inbox holds (issue 14: the edge's memory must not grow with a burst). A file met while it is
/// full is not observed (`observe` answers false): a later pass of the inbox scan meets it again,
/// once files taken have made room. A rename not remembered only costs the file the settle time.
/// Paths are forgotten when taken (`forget`), and at the end of each full pass of the inbox scan
/// (`endCycle`) when that pass did not meet them (removed, or renamed away).
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

    private struct Seen: Sendable {
        var observation: Observation
        var since: Double
        /// The scan cycle that last met the path.
        var cycle: UInt64
    }

    private var seen: [String: Seen] = [:]
    /// Renames inotify reported, with the cycle they were reported in.
    private var movedIn: [String: UInt64] = [:]
    private var cycle: UInt64 = 0
    public let settleSeconds: Double
    /// The most files tracked at once, and the most renames remembered.
    public let capacity: Int

    /// The default `capacity`: the default inotify queue (`max_queued_events`, 16,384) holds no
    /// more renames than this, and a few MB of paths at most.
    public static let defaultCapacity = 16_384

    public init(settleSeconds: Double, capacity: Int = SettleTracker.defaultCapacity) {
        self.settleSeconds = settleSeconds
        self.capacity = max(1, capacity)
    }

    /// Files tracked now.
    public var count: Int { seen.count }

    /// inotify reported `path` renamed into the inbox (ignored while `capacity` renames are remembered).
    public mutating func noteMovedIn(_ path: String) {
        guard movedIn[path] != nil || movedIn.count < capacity else { return }
        movedIn[path] = cycle
    }

    /// Records an observation at `now`; returns whether the file is complete. False, recording
    /// nothing, for a new path while `capacity` files are tracked.
    public mutating func observe(_ path: String, _ o: Observation, now: Double) -> Bool {
        if let prev = seen[path] {
            seen[path]?.cycle = cycle
            if prev.observation == o { return movedIn[path] != nil || now - prev.since >= settleSeconds }
            // Changed since last seen: the settle clock restarts, and a rename noted earlier no longer vouches for it.
            seen[path] = Seen(observation: o, since: now, cycle: cycle)
            movedIn[path] = nil
            return settleSeconds <= 0
        }
        guard seen.count < capacity else { return false }
        seen[path] = Seen(observation: o, since: now, cycle: cycle)
        return movedIn[path] != nil || settleSeconds <= 0
    }

    /// When the earliest file seen but not yet complete can be complete (the next scan worth
    /// making, inotify aside), or nil when no file is waiting to settle. Files already complete
    /// at `now` (taken since, or refused) are not waited for.
    public func nextSettle(after now: Double) -> Double? {
        var next: Double?
        for (path, s) in seen where movedIn[path] == nil && s.since + settleSeconds > now {
            next = min(next ?? .infinity, s.since + settleSeconds)
        }
        return next
    }

    /// A full pass of the inbox ended: forgets the paths it did not meet (gone), and renames
    /// reported before it began whose file it did not meet.
    public mutating func endCycle() {
        seen = seen.filter { $0.value.cycle == cycle }
        movedIn = movedIn.filter { seen[$0.key] != nil || $0.value == cycle }
        cycle &+= 1
    }

    public mutating func forget(_ path: String) {
        seen[path] = nil
        movedIn[path] = nil
    }
}
