/// The zstd level of a large segment, chosen by measurement (docs/PERFORMANCE.md, "Wire bytes"). Pure:
/// it is fed what the edge measured and answers a level; `LevelMeasurements` shares one between the
/// batch builder (which compresses) and the upload lanes (which see the link).
///
/// For a segment of `n` bytes of content, level L is expected to take
///
///     time(L) = n · cpu(L)  +  n · ratio(L) / link
///
/// seconds before the core has it: `cpu(L)` the compressor's CPU seconds per input byte at L,
/// `ratio(L)` compressed ÷ input bytes at L, `link` the link's measured bytes/s. The policy answers
/// the candidate level ≥ `base` (`zstd_level`'s default, 3) with the least time, the lower on a tie:
/// the highest level whose extra CPU time is paid back by the bytes it saves on this link. On an
/// idle loopback or LAN link (MB/s) that is the base level, so a burst is not held by its own
/// compression; on a slow link it climbs (with level 3 at 28 MB/s and the priors below, level 9 pays
/// back under ~80 KB/s, 12 under ~35 KB/s, 19 under ~15 KB/s; measured on the loaded test machine,
/// 64 KB/s kept level 3 and 16 KB/s took 9 — docs/PERFORMANCE.md).
///
/// - `cpu` and `ratio` of a level the edge has compressed at are its own measurements (an
///   exponentially weighted mean, weight `weight` for each new segment of at least `minSampleBytes`).
///   A level it has not used yet is estimated from the nearest measured level, scaled by `priors`
///   (each level's CPU per byte and compressed size relative to level 3, measured with `zstd -b` on the
///   issue's hourly station readings). Small segments go at `zstd_small_segment_level` (19) anyway, so
///   a trickle measures level 19 for free.
/// - `link` is the mean of the upload lanes' samples (`linkSample`: a PATCH body of at least
///   `minSampleBytes` over the time from its request to the core's answer), capped by the configured
///   bandwidth. The core's work on the request (a commit) counts as link time, so the estimate errs slow:
///   a level a little higher than needed, never a fast-link level on a slow link.
/// - Until both the compressor and the link were measured the answer is `base`: no guess on a link
///   never seen.
public struct LevelPolicy: Sendable, Equatable {
    /// A level's CPU per input byte and compressed size, both relative to level 3's.
    public struct Prior: Sendable, Equatable {
        public var level: Int32
        public var cpu: Double
        public var size: Double
    }

    /// `zstd -b` on 3.7 MB of hourly station readings (the tar of the 730-file burst) on the 2-core
    /// test machine: level 3 331,819 bytes at 28 MB/s; 9 308,269 at 8.6; 12 299,233 at 3.6;
    /// 15 282,808 at 1.16; 17 260,053 at 0.75; 19 252,452 at 0.69 MB/s.
    public static let priors: [Prior] = [
        Prior(level: 1, cpu: 0.29, size: 1.065),
        Prior(level: 3, cpu: 1, size: 1),
        Prior(level: 9, cpu: 3.3, size: 0.929),
        Prior(level: 12, cpu: 7.9, size: 0.902),
        Prior(level: 15, cpu: 24, size: 0.852),
        Prior(level: 17, cpu: 38, size: 0.784),
        Prior(level: 19, cpu: 41, size: 0.761),
    ]

    /// What one level measured.
    public struct Measured: Sendable, Equatable {
        /// CPU seconds per input byte.
        public var cpu: Double
        /// Compressed ÷ input bytes.
        public var ratio: Double
    }

    /// Samples smaller than this (compression input, or a PATCH body) are not taken: fixed costs
    /// (frame set-up, a round trip) would dominate them.
    public static let minSampleBytes: UInt64 = 16 << 10
    /// The weight of a new sample in the means.
    public static let weight = 0.3

    public private(set) var measured: [Int32: Measured] = [:]
    /// The link's mean measured rate, bytes/s (nil: not measured yet).
    public private(set) var linkBytesPerSecond: Double?
    /// The configured send-rate cap (bytes/s, 0: none): the link is never taken as faster.
    public var linkCap: Double = 0

    public init() {}

    /// A segment of `inputBytes` of content was compressed at `level` into `outputBytes` in `cpuSeconds`.
    public mutating func compressed(level: Int32, inputBytes: UInt64, outputBytes: UInt64, cpuSeconds: Double) {
        guard inputBytes >= Self.minSampleBytes, cpuSeconds.isFinite, cpuSeconds >= 0 else { return }
        let sample = Measured(cpu: cpuSeconds / Double(inputBytes), ratio: Double(outputBytes) / Double(inputBytes))
        guard let m = measured[level] else {
            measured[level] = sample
            return
        }
        measured[level] = Measured(cpu: Self.mean(m.cpu, sample.cpu), ratio: Self.mean(m.ratio, sample.ratio))
    }

    /// `bytes` of a request body took `seconds` to leave (an upload lane's PATCH).
    public mutating func linkSample(bytes: UInt64, seconds: Double) {
        guard bytes >= Self.minSampleBytes, seconds.isFinite, seconds > 0 else { return }
        let rate = Double(bytes) / seconds
        linkBytesPerSecond = linkBytesPerSecond.map { Self.mean($0, rate) } ?? rate
    }

    /// The link rate the policy decides by: the measured mean, under the configured cap.
    public var link: Double? {
        guard let l = linkBytesPerSecond else { return linkCap > 0 ? linkCap : nil }
        return linkCap > 0 ? min(l, linkCap) : l
    }

    /// `cpu` and `ratio` at `level`: measured, or scaled from the nearest measured level by the priors.
    public func estimate(level: Int32) -> Measured? {
        if let m = measured[level] { return m }
        guard let nearest = measured.min(by: { (abs($0.key - level), $0.key) < (abs($1.key - level), $1.key) }) else { return nil }
        let m = nearest.value
        let p = Self.prior(level), q = Self.prior(nearest.key)
        return Measured(cpu: m.cpu * p.cpu / q.cpu, ratio: m.ratio * p.size / q.size)
    }

    /// The level of a segment of `contentBytes` of content, never below `base`.
    public func level(contentBytes: UInt64, base: Int32) -> Int32 {
        guard let link, link > 0 else { return base }
        let n = Double(contentBytes)
        var best = base
        guard var bestTime = time(level: base, n: n, link: link) else { return base }
        for p in Self.priors where p.level > base {
            guard let t = time(level: p.level, n: n, link: link) else { continue }
            if t < bestTime {
                best = p.level
                bestTime = t
            }
        }
        return best
    }

    private func time(level: Int32, n: Double, link: Double) -> Double? {
        guard let e = estimate(level: level) else { return nil }
        return n * e.cpu + n * e.ratio / link
    }

    /// The prior of `level`: its own, or that of the highest listed level below it (the lowest listed one for lower levels).
    static func prior(_ level: Int32) -> Prior {
        priors.last { $0.level <= level } ?? priors[0]
    }

    private static func mean(_ old: Double, _ new: Double) -> Double { old + weight * (new - old) }
}
