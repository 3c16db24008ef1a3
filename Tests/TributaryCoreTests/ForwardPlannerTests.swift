import Testing
import TributaryDelivery
@testable import TributaryCore

/// The forwarder's decisions without I/O (Forward/ForwardPlanner.swift).
struct ForwardPlannerTests {
    static func item(_ seq: Int64, origin: String? = nil, path: [String] = [], arrivals: Int = 1) -> ForwardItem {
        ForwardItem(
            seq: seq, uploadID: "u\(seq)", site: "plant-a", committedAt: "2026-11-21T10:00:00.000Z", origin: origin, path: path,
            arrivals: (0..<arrivals).map {
                ArrivalRecord(
                    uploadID: "u\(seq)", seq: $0, site: "plant-a", stream: "s", name: "o\($0)", sha256: String(repeating: "a", count: 64), size: 1,
                    capturedAt: "2026-11-21T10:00:00.000Z", receivedAt: "2026-11-21T10:00:00.000Z", key: "k\($0)", status: .stored)
            })
    }

    @Test func sendsInOrderAndIdlesWhenCaughtUp() {
        var p = ForwardPlanner(now: 0)
        #expect(p.decide(next: nil, now: 0) == .idle)
        let one = Self.item(1)
        #expect(p.decide(next: one, now: 0) == .send(one))
        let done = p.ended(one, .delivered, now: 1, unit: 0.5)
        #expect(done)
        #expect(p.decide(next: Self.item(2), now: 1) == .send(Self.item(2)))
    }

    @Test func aLinkOutageBacksOffAndNeverSetsAnythingAside() {
        var limits = ForwardPlanner.Limits()
        limits.maxStrikes = 2
        var p = ForwardPlanner(now: 0, limits: limits)
        let one = Self.item(1)
        var now = 0.0
        for _ in 0..<50 {
            guard case .send = p.decide(next: one, now: now) else {
                Issue.record("expected a send at \(now): \(p.decide(next: one, now: now))")
                return
            }
            let done = p.ended(one, .linkFailed(reason: "connection refused", retryAfter: nil), now: now, unit: 1)
            #expect(!done)
            // Backing off: nothing before the delay (base·2^(n−1), capped at 60 s with unit 1).
            guard case .wait(let s) = p.decide(next: one, now: now) else {
                Issue.record("expected a wait")
                return
            }
            #expect(s > 0 && s <= limits.capSeconds)
            now += s
        }
        #expect(p.link.state == .down)
        #expect(p.strikes == nil)
        let done = p.ended(one, .delivered, now: now, unit: 0)
        #expect(done)
        #expect(p.link.state == .up)
    }

    @Test func refusalsStrikeTheUploadAndTheLastSetsItAside() {
        var limits = ForwardPlanner.Limits()
        limits.maxStrikes = 3
        var p = ForwardPlanner(now: 0, limits: limits)
        let one = Self.item(1)
        var now = 0.0
        for n in 1...3 {
            #expect(p.decide(next: one, now: now) == .send(one))
            let done = p.ended(one, .refused(reason: "HTTP 400 bad", final: false, retryAfter: nil), now: now, unit: 1)
            #expect(!done)
            #expect(p.strikes?.count == n)
            if n < 3 {
                guard case .wait(let s) = p.decide(next: one, now: now) else {
                    Issue.record("a refused upload waits its own backoff")
                    return
                }
                now += s
            }
        }
        #expect(p.decide(next: one, now: now + 1000) == .setAside(one, reason: "not taken after 3 attempts: HTTP 400 bad"))
        p.passed(one)
        #expect(p.strikes == nil)
        // The link was fine all along: the next upload goes at once.
        #expect(p.decide(next: Self.item(2), now: now) == .send(Self.item(2)))
    }

    @Test func theUpstreamsFinalWordSetsAsideAtOnce() {
        var p = ForwardPlanner(now: 0)
        let one = Self.item(1)
        _ = p.ended(one, .refused(reason: "quarantined", final: true, retryAfter: nil), now: 0, unit: 0.3)
        guard case .setAside(let i, let reason) = p.decide(next: one, now: 0) else {
            Issue.record("expected set aside")
            return
        }
        #expect(i == one && reason.contains("quarantined"))
    }

    @Test func aStrikeBelongsToItsUpload() {
        var p = ForwardPlanner(now: 0)
        _ = p.ended(Self.item(1), .unreadable(reason: "missing"), now: 0, unit: 1)
        #expect(p.strikes?.seq == 1)
        // Another upload (the first was moved past by another node) is not held back by it.
        #expect(p.decide(next: Self.item(2), now: 0) == .send(Self.item(2)))
        _ = p.ended(Self.item(2), .unreadable(reason: "missing"), now: 0, unit: 1)
        #expect(p.strikes?.seq == 2 && p.strikes?.count == 1)
    }

    @Test func ownBackendsUnavailablePausesWithoutStrikes() {
        var p = ForwardPlanner(now: 0)
        let one = Self.item(1)
        _ = p.ended(one, .unavailable(reason: "lake down"), now: 0, unit: 1)
        #expect(p.decide(next: one, now: 0.5) == .wait(seconds: 0.5))
        #expect(p.decide(next: one, now: 1) == .send(one))
        #expect(p.strikes == nil)
    }

    @Test func uploadsWithoutArrivalsAreSkipped() {
        let p = ForwardPlanner(now: 0)
        let empty = Self.item(1, arrivals: 0)
        #expect(p.decide(next: empty, now: 0) == .skip(empty, reason: "no arrivals"))
    }

    @Test func neverSendsToACoreOnThePath() {
        var p = ForwardPlanner(now: 0, targetCoreID: "core-b")
        let fromB = Self.item(1, origin: "core-b", path: ["core-b"])
        let viaB = Self.item(2, origin: "core-c", path: ["core-c", "core-b"])
        let fresh = Self.item(3, origin: "core-c", path: ["core-c"])
        #expect(p.decide(next: fromB, now: 0) == .skip(fromB, reason: "core core-b is already on its path"))
        #expect(p.decide(next: viaB, now: 0) == .skip(viaB, reason: "core core-b is already on its path"))
        #expect(p.decide(next: fresh, now: 0) == .send(fresh))
        p.targetCoreID = nil
        #expect(p.decide(next: fromB, now: 0) == .send(fromB))  // unknown target: the upstream refuses it itself
    }
}
