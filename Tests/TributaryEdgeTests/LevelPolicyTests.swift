import Testing
@testable import TributaryEdge

/// `LevelPolicy`: the level whose CPU is paid back by the bytes it saves on the measured link.
@Suite struct LevelPolicyTests {
    /// Level 3 measured as in the burst on the test machine: 3.2 MB in 0.11 s CPU, to 11 %.
    static func measuredAtLevel3() -> LevelPolicy {
        var p = LevelPolicy()
        p.compressed(level: 3, inputBytes: 3_200_000, outputBytes: 352_000, cpuSeconds: 0.113)
        return p
    }

    @Test func withoutALinkMeasurementItKeepsTheBaseLevel() {
        let p = Self.measuredAtLevel3()
        #expect(p.level(contentBytes: 3_200_000, base: 3) == 3)
        var q = LevelPolicy()
        q.linkSample(bytes: 1 << 20, seconds: 10)
        #expect(q.level(contentBytes: 3_200_000, base: 3) == 3, "nor without a compressor measurement")
    }

    @Test func aFastLinkKeepsTheBaseLevelASlowOneClimbs() {
        var fast = Self.measuredAtLevel3()
        fast.linkSample(bytes: 4 << 20, seconds: 0.01)  // ~400 MB/s: loopback
        #expect(fast.level(contentBytes: 3_200_000, base: 3) == 3)
        var lan = Self.measuredAtLevel3()
        lan.linkSample(bytes: 4 << 20, seconds: 0.4)  // ~10 MB/s
        #expect(lan.level(contentBytes: 3_200_000, base: 3) == 3)
        var slow = Self.measuredAtLevel3()
        slow.linkSample(bytes: 640_000, seconds: 10)  // 64 KB/s
        let l = slow.level(contentBytes: 3_200_000, base: 3)
        #expect(l > 3 && l < 19, "a middle level: 19's CPU is not paid back at 64 KB/s, 9's is")
        var crawl = Self.measuredAtLevel3()
        crawl.linkSample(bytes: 64_000, seconds: 10)  // 6.4 KB/s
        #expect(crawl.level(contentBytes: 3_200_000, base: 3) == 19)
    }

    @Test func theChoiceMinimisesCompressionPlusTransferTime() {
        var p = Self.measuredAtLevel3()
        p.linkSample(bytes: 640_000, seconds: 10)
        let n = 3_200_000.0
        func time(_ level: Int32) -> Double {
            let e = p.estimate(level: level)!
            return n * e.cpu + n * e.ratio / p.link!
        }
        let chosen = p.level(contentBytes: 3_200_000, base: 3)
        for prior in LevelPolicy.priors where prior.level >= 3 { #expect(time(chosen) <= time(prior.level)) }
    }

    @Test func aMeasuredLevelReplacesItsPriorAndScalesTheOthers() {
        var p = Self.measuredAtLevel3()
        let before = p.estimate(level: 19)!
        #expect(abs(before.cpu / p.estimate(level: 3)!.cpu - 41) < 1e-9, "by the priors")
        // Level 19 measured far cheaper than the priors say (e.g. small segments): used as measured.
        p.compressed(level: 19, inputBytes: 100_000, outputBytes: 8_000, cpuSeconds: 0.02)
        #expect(p.estimate(level: 19) == LevelPolicy.Measured(cpu: 0.02 / 100_000, ratio: 0.08))
        // A level between: scaled from the nearest measured one (17 from 19).
        let e17 = p.estimate(level: 17)!
        #expect(abs(e17.cpu - 0.02 / 100_000 * 38 / 41) < 1e-15)
        // Later samples move the mean by `weight`.
        p.compressed(level: 19, inputBytes: 100_000, outputBytes: 8_000, cpuSeconds: 0.04)
        #expect(abs(p.estimate(level: 19)!.cpu - (0.02 + 0.3 * 0.02) / 100_000) < 1e-15)
    }

    @Test func smallOrBrokenSamplesAreNotTakenAndTheCapBoundsTheLink() {
        var p = LevelPolicy()
        p.compressed(level: 3, inputBytes: 1000, outputBytes: 100, cpuSeconds: 0.001)
        p.linkSample(bytes: 1000, seconds: 1)
        p.linkSample(bytes: 1 << 20, seconds: 0)
        p.linkSample(bytes: 1 << 20, seconds: .nan)
        #expect(p.measured.isEmpty && p.linkBytesPerSecond == nil)
        p.linkCap = 50_000
        #expect(p.link == 50_000, "a configured cap is a link rate before any measurement")
        p.linkSample(bytes: 1 << 20, seconds: 0.001)
        #expect(p.link == 50_000)
    }

    @Test func segmentCompressionUsesThePolicyOnlyForLargeSegmentsAndNotWhenZstdLevelIsSet() {
        let m = LevelMeasurements()
        m.compressed(level: 3, inputBytes: 3_200_000, outputBytes: 352_000, cpuSeconds: 0.113)
        m.linkSample(bytes: 64_000, seconds: 10)
        var c = EdgeConfiguration()
        let measured = SegmentCompression(configuration: c, measurements: m)
        #expect(measured.level(contentBytes: 3_200_000) == 19)
        #expect(measured.level(contentBytes: 100_000) == 19, "small segments: zstd_small_segment_level")
        c.zstdLevel = 3
        #expect(c.zstdLevelIsSet)
        let fixed = SegmentCompression(configuration: c, measurements: m)
        #expect(fixed.measurements == nil && fixed.level(contentBytes: 3_200_000) == 3)
    }
}
