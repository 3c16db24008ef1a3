import Testing
@testable import TributaryFaultProxy

@Suite struct FaultPlanTests {
    static func configuration(seed: UInt64 = 1, _ change: (inout FaultProxyConfiguration) -> Void = { _ in }) -> FaultProxyConfiguration {
        var c = FaultProxyConfiguration(listen: Endpoint(host: "127.0.0.1", port: 0), target: Endpoint(host: "127.0.0.1", port: 1))
        c.seed = seed
        c.cutProbability = 0.5
        c.stallProbability = 0.5
        c.flipProbability = 0.1
        c.direction = .both
        change(&c)
        return c
    }

    static func plans(_ c: FaultProxyConfiguration, _ count: UInt64 = 200) -> [FaultPlan] {
        (1...count).map { FaultPlan(configuration: c, connection: $0) }
    }

    @Test func sameSeedSamePlans() {
        #expect(Self.plans(Self.configuration(seed: 7)) == Self.plans(Self.configuration(seed: 7)))
    }

    @Test func differentSeedsDiffer() {
        let a = Self.plans(Self.configuration(seed: 1)).map(\.cutAfter)
        let b = Self.plans(Self.configuration(seed: 2)).map(\.cutAfter)
        #expect(a != b)
        // Neighbouring connections are unrelated too: cut points drawn from ~1 M values repeat rarely.
        let cuts = a.compactMap { $0 }
        #expect(cuts.count > 60 && Set(cuts).count >= cuts.count - 1)
    }

    @Test func drawsStayInRangesAndProbabilitiesHold() {
        let plans = Self.plans(Self.configuration(seed: 3) { $0.cutAfter = ValueRange(100, 200); $0.stallMilliseconds = ValueRange(5, 9) }, 2000)
        let cuts = plans.compactMap(\.cutAfter)
        #expect(cuts.allSatisfy { (100...200).contains($0) })
        #expect(Set(cuts).count > 90)  // spread over the range
        #expect((800...1200).contains(cuts.count))
        let stalls = plans.compactMap(\.stall)
        #expect(stalls.allSatisfy { (0...1_048_576).contains($0.afterUpstreamBytes) && (5...9).contains($0.milliseconds) })
        #expect((800...1200).contains(stalls.count))
    }

    @Test func certainAndImpossibleFaults() {
        let always = Self.plans(Self.configuration { $0.cutProbability = 1; $0.stallProbability = 1 })
        #expect(always.allSatisfy { $0.cutAfter != nil && $0.stall != nil })
        let never = Self.plans(Self.configuration { $0.cutProbability = 0; $0.stallProbability = 0; $0.flipProbability = 0 })
        #expect(never.allSatisfy { $0.cutAfter == nil && $0.stall == nil && $0.upstreamFlips == nil && $0.downstreamFlips == nil })
    }

    @Test func oneProbabilityDoesNotShiftTheOthers() {
        let a = Self.plans(Self.configuration { $0.cutProbability = 0.1 })
        let b = Self.plans(Self.configuration { $0.cutProbability = 0.9 })
        #expect(a.map(\.stall) == b.map(\.stall))
        #expect(a.map(\.upstreamFlips) == b.map(\.upstreamFlips))
    }

    @Test func directionDecidesWhichFlipsExist() {
        let up = FaultPlan(configuration: Self.configuration { $0.direction = .up }, connection: 1)
        #expect(up.upstreamFlips != nil && up.downstreamFlips == nil && up.cutDirection == .up)
        let down = FaultPlan(configuration: Self.configuration { $0.direction = .down }, connection: 1)
        #expect(down.upstreamFlips == nil && down.downstreamFlips != nil)
        let both = FaultPlan(configuration: Self.configuration { $0.direction = .both }, connection: 1)
        #expect(both.upstreamFlips != nil && both.downstreamFlips != nil && both.upstreamFlips != both.downstreamFlips)
    }

    @Test func splitMix64MatchesReferenceOutputs() {
        // Reference values of SplitMix64 seeded with 0 (as in the xoshiro authors' splitmix64.c).
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(g.next() == 0x06C4_5D18_8009_454F)
        var h = SplitMix64(seed: 5)
        for _ in 0..<10_000 {
            let u = h.unitInterval()
            #expect(u >= 0 && u < 1)
            #expect((10...12).contains(h.uniform(in: ValueRange(10, 12))))
        }
        #expect(h.uniform(in: ValueRange(0, .max)) != h.uniform(in: ValueRange(0, .max)))
    }

    @Test func flipperSparesSkippedBytesAndIsDeterministic() {
        var a = BitFlipper(seed: 11, probability: 1, skip: 1000)
        var b = BitFlipper(seed: 11, probability: 1, skip: 1000)
        var flips: [BitFlipper.Flip] = []
        for size in [300, 300, 300, 300, 5000, 1, 7] {
            let f = a.next(chunk: size)
            #expect(f == b.next(chunk: size))
            if let f { flips.append(f) }
        }
        // The first three chunks lie wholly in the first 1000 bytes; every later one gets a flip.
        #expect(flips.count == 4)
        #expect(flips.allSatisfy { $0.streamOffset >= 1000 && $0.bit < 8 })
        #expect(flips[0].streamOffset < 1200 && flips[0].chunkOffset >= 100)
        #expect(a.offset == 6208)
    }

    @Test func flipperAppliesOneBit() {
        var f = BitFlipper(seed: 2, probability: 1, skip: 0)
        var bytes = [UInt8](repeating: 0, count: 64)
        let flip = bytes.withUnsafeMutableBytes { f.apply(to: $0) }
        #expect(flip != nil)
        #expect(bytes.map(\.nonzeroBitCount).reduce(0, +) == 1)
        #expect(bytes[flip!.chunkOffset] == 1 << flip!.bit)
    }

    @Test func tokenBucketHoldsAFiftiethOfASecond() {
        var b = TokenBucket(bytesPerSecond: 100_000, now: 0)
        #expect(b.capacity == 2000)
        #expect(b.available(now: 0) == 2000)
        b.spend(2000)
        #expect(b.available(now: 0) == 0)
        #expect(b.delay(until: 1000, now: 0) == 10_000_000)  // 1000 bytes at 100 kB/s: 10 ms
        #expect(b.available(now: 5_000_000) == 500)
        #expect(b.available(now: 10_000_000_000) == 2000)  // never more than the capacity
        #expect(TokenBucket(bytesPerSecond: 10, now: 0).capacity == 1)
    }

    @Test func statsJSONHasTheDocumentedKeys() {
        var s = FaultProxyStats()
        s.connections = 3
        s.bytesUp = 10
        s.linkUp = false
        #expect(
            s.json == "{\"connections\": 3, \"active\": 0, \"bytes_up\": 10, \"bytes_down\": 0, \"cuts\": 0, \"stalls\": 0, \"flips\": 0, \"refused\": 0, \"link\": \"down\"}\n")
    }
}
