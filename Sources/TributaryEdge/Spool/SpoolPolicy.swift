/// When the spool is full and what making room means: the one place that decides admission.
/// Pure: `Journal.accept` feeds it the use it read and the eviction candidates, and does what it
/// answers in the same transaction; the intake asks `takesNothing` before copying a file.
///
/// - A group larger than the whole spool (bytes or count) is refused under either policy.
/// - A group that fits beside what is there is admitted.
/// - Otherwise, with `block`, it is refused (nothing accepted; inbox files wait, `put` fails).
/// - With `drop-oldest`, pending objects not yet in a batch are evicted in the order given
///   (lowest priority, then oldest captured-at, then acceptance) until the group fits; if even all
///   of them are not enough (the rest is in batches being sent), it is refused.
public struct SpoolPolicy: Sendable, Equatable {
    public var maxBytes: UInt64
    public var maxObjects: Int
    public var full: EdgeConfiguration.FullPolicy

    public init(maxBytes: UInt64, maxObjects: Int, full: EdgeConfiguration.FullPolicy) {
        self.maxBytes = maxBytes
        self.maxObjects = maxObjects
        self.full = full
    }

    public init(configuration c: EdgeConfiguration) {
        self.init(maxBytes: c.maxSpoolBytes, maxObjects: c.maxSpoolObjects, full: c.fullPolicy)
    }

    public struct Use: Sendable, Equatable {
        public var bytes: UInt64
        public var objects: Int
        public init(bytes: UInt64, objects: Int) {
            self.bytes = bytes
            self.objects = objects
        }
    }

    public enum Refusal: String, Sendable, Equatable {
        /// At a limit under `block`: nothing at all can be taken (`takesNothing`).
        case atLimit = "at-limit"
        /// Under `block`, the group does not fit beside what is there (a smaller one might).
        case noRoom = "no-room"
        /// The group alone is larger than the whole spool.
        case largerThanSpool = "larger-than-spool"
        /// `drop-oldest`, but everything evictable is not enough.
        case nothingToEvict = "nothing-to-evict"
    }

    public enum Admission: Sendable, Equatable {
        /// Fits after evicting the first `evict` candidates (0: fits as is).
        case admit(evict: Int)
        case refuse(Refusal)
    }

    /// Whether nothing at all can be taken now (`block` at a limit): the intake skips copying.
    public func takesNothing(_ use: Use) -> Bool {
        full == .block && (use.bytes >= maxBytes || use.objects >= maxObjects)
    }

    /// Admission of a group of `count` objects and `bytes` bytes, given the use now and the sizes of
    /// the eviction candidates in eviction order (asked for only under `drop-oldest`).
    public func admit(bytes: UInt64, count: Int, use: Use, candidates: () throws -> [UInt64]) rethrows -> Admission {
        if bytes > maxBytes || count > maxObjects { return .refuse(.largerThanSpool) }
        func fits(_ u: Use) -> Bool { u.bytes + bytes <= maxBytes && u.objects + count <= maxObjects }
        if fits(use) { return .admit(evict: 0) }
        guard full == .dropOldest else { return .refuse(.noRoom) }
        var u = use
        var evict = 0
        for size in try candidates() {
            if fits(u) { break }
            u.bytes -= min(size, u.bytes)
            u.objects = max(0, u.objects - 1)
            evict += 1
        }
        return fits(u) ? .admit(evict: evict) : .refuse(.nothingToEvict)
    }
}
