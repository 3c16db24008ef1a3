import Foundation
import Testing
import TributaryCore

/// The per-site quota and fairness rules (`SiteLimits`, `TokenBucket`, `SiteGate`), pure.
@Suite("Site limits")
struct SiteLimitsTests {
    static var limits: SiteLimits {
        var l = SiteLimits()
        l.maxOpenUploadsPerSite = 3
        l.maxStagedBytesPerSite = 1000
        l.maxStagedBytes = 5000
        l.minFreeBytes = 100
        return l
    }

    @Test("a creation within every limit is admitted")
    func admitted() {
        #expect(Self.limits.admitCreation(length: 500, site: SiteUsage(openUploads: 2, stagedBytes: 500), nodeStagedBytes: 4000, unwrittenBytes: 0, freeBytes: 700) == nil)
    }

    @Test("open uploads per site")
    func openUploads() {
        let r = Self.limits.admitCreation(length: 1, site: SiteUsage(openUploads: 3, stagedBytes: 0), nodeStagedBytes: 0, unwrittenBytes: 0, freeBytes: 1 << 40)
        #expect(r?.kind == .tooManyUploads)
        #expect(r?.retryAfter != nil)
    }

    @Test("staged bytes per site: 429 while others are open, 413 for one upload that can never fit")
    func stagedPerSite() {
        let later = Self.limits.admitCreation(length: 600, site: SiteUsage(openUploads: 1, stagedBytes: 500), nodeStagedBytes: 0, unwrittenBytes: 0, freeBytes: 1 << 40)
        #expect(later?.kind == .stagedQuota)
        #expect(later?.retryAfter != nil)
        let never = Self.limits.admitCreation(length: 1001, site: SiteUsage(), nodeStagedBytes: 0, unwrittenBytes: 0, freeBytes: 1 << 40)
        #expect(never?.kind == .stagedQuota)
        #expect(never?.retryAfter == nil)
    }

    @Test("node staging total and free-space headroom")
    func nodeTotal() {
        #expect(
            Self.limits.admitCreation(length: 10, site: SiteUsage(), nodeStagedBytes: 4995, unwrittenBytes: 0, freeBytes: 1 << 40)?.kind == .stagingFull)
        // 300 bytes still to come of open uploads + 10 + 100 headroom > 400 free.
        #expect(Self.limits.admitCreation(length: 10, site: SiteUsage(), nodeStagedBytes: 0, unwrittenBytes: 300, freeBytes: 400)?.kind == .stagingFull)
        #expect(Self.limits.admitCreation(length: 10, site: SiteUsage(), nodeStagedBytes: 0, unwrittenBytes: 290, freeBytes: 400) == nil)
    }

    @Test("sums never wrap")
    func overflow() {
        var l = Self.limits
        l.maxStagedBytesPerSite = .max
        l.maxStagedBytes = .max
        #expect(l.admitCreation(length: .max, site: SiteUsage(openUploads: 0, stagedBytes: 2), nodeStagedBytes: 0, unwrittenBytes: 0, freeBytes: .max)?.kind == .stagedQuota)
        #expect(l.admitCreation(length: 1 << 63, site: SiteUsage(), nodeStagedBytes: 1 << 63, unwrittenBytes: 0, freeBytes: .max)?.kind == .stagingFull)
        #expect(l.admitCreation(length: 1 << 62, site: SiteUsage(), nodeStagedBytes: 0, unwrittenBytes: .max - 5, freeBytes: .max)?.kind == .stagingFull)
    }

    @Test("a body is too slow only after the grace time and below the rate")
    func bodyRate() {
        var l = SiteLimits()
        l.minBodyBytesPerSecond = 100
        l.bodyRateGraceSeconds = 10
        #expect(!l.bodyTooSlow(bytes: 0, elapsed: 9.9))
        #expect(l.bodyTooSlow(bytes: 999, elapsed: 10.5))
        #expect(!l.bodyTooSlow(bytes: 1100, elapsed: 10.5))
        #expect(l.bodyTooSlow(bytes: 1, elapsed: 60))
    }

    @Test("a token bucket gives its burst, then its rate")
    func bucket() {
        var b = TokenBucket(rate: 2, burst: 3, now: 0)
        #expect(b.take(now: 0) == nil)
        #expect(b.take(now: 0) == nil)
        #expect(b.take(now: 0) == nil)
        let wait = b.take(now: 0)
        #expect(wait == 0.5)
        #expect(b.take(now: 0.5) == nil)
        #expect(b.take(now: 0.5) != nil)
        // Never more than the burst, however long it waited.
        #expect(b.take(now: 100) == nil)
        #expect(b.tokens == 2)
    }

    @Test("the gate counts requests in progress per site and refuses past the limit")
    func gate() throws {
        var l = SiteLimits()
        l.maxRequestsPerSite = 2
        l.creationsPerSecond = 1
        l.creationBurst = 1
        let clock = TestClock()
        let gate = SiteGate(limits: l, clock: { clock.now })
        try gate.enter("a")
        try gate.enter("a")
        #expect(throws: LimitRefusal.self) { try gate.enter("a") }
        try gate.enter("b")
        gate.leave("a")
        try gate.enter("a")
        try gate.take(.creation, site: "a")
        do {
            try gate.take(.creation, site: "a")
            Issue.record("a second creation within the second was admitted")
        } catch {
            #expect(error.kind == .rateLimited)
            #expect(error.retryAfter == 1)
        }
        clock.now = 1.0
        try gate.take(.creation, site: "a")
        try gate.take(.creation, site: "b")
    }
}

final class TestClock: @unchecked Sendable {
    var now: Double = 0
}
