#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// The `LevelPolicy` an agent shares between its batch builder (compressor measurements) and its
/// upload lanes (link measurements). Thread-safe; held by `AgentContext`. Logs (notice) each change of
/// the level it picks for large segments, with the link rate it decided by.
public final class LevelMeasurements: Sendable {
    private let policy = Mutex(LevelPolicy())
    /// The level last picked for a large segment (nil: none yet, as if the base level).
    private let lastLevel = Mutex<Int32?>(nil)
    let logger: Logger?

    public init(logger: Logger? = nil) {
        self.logger = logger
    }

    public var snapshot: LevelPolicy { policy.withLock { $0 } }

    public func compressed(level: Int32, inputBytes: UInt64, outputBytes: UInt64, cpuSeconds: Double) {
        policy.withLock { $0.compressed(level: level, inputBytes: inputBytes, outputBytes: outputBytes, cpuSeconds: cpuSeconds) }
    }

    public func linkSample(bytes: UInt64, seconds: Double) {
        policy.withLock { $0.linkSample(bytes: bytes, seconds: seconds) }
    }

    /// The send-rate cap in force (bytes/s, 0: none).
    public func setLinkCap(_ bytesPerSecond: Int64) {
        policy.withLock { $0.linkCap = Double(max(0, bytesPerSecond)) }
    }

    public func level(contentBytes: UInt64, base: Int32) -> Int32 {
        let (level, link) = policy.withLock { ($0.level(contentBytes: contentBytes, base: base), $0.link) }
        let changed = lastLevel.withLock { last in
            defer { last = level }
            return level != (last ?? base)
        }
        if changed {
            logger?.notice("zstd level of large segments changed by measurement", metadata: [
                "level": "\(level)", "link_bytes_per_second": "\(link.map { Int64($0.rounded()) } ?? 0)",
            ])
        }
        return level
    }

    /// CPU seconds this thread has used (CLOCK_THREAD_CPUTIME_ID): a compression's cost without the
    /// time it waited for the disk or for a core.
    public static func threadCPUSeconds() -> Double {
        var ts = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0 else { return 0 }
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
