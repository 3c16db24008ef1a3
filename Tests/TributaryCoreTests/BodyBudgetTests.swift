import Synchronization
import Testing

@testable import TributaryCore

/// The process-wide budget of PATCH bytes gathered at once: who is served (`BodyBudgetState`,
/// pure) and the shell that lends buffers, resumes waiters and takes blocks back whatever way a
/// request ends (`BodyBudget`).
@Suite("PATCH body budget")
struct BodyBudgetTests {
    // MARK: the rules

    @Test("blocks are granted while free; then requests queue and are served oldest first")
    func fifo() {
        var s = BodyBudgetState(blocks: 2, perSite: 2)
        let r1 = s.acquire(1, site: "a")
        #expect(r1)
        let r2 = s.acquire(2, site: "b")
        #expect(r2)
        let r3 = !s.acquire(3, site: "c")
        #expect(r3)
        let r4 = !s.acquire(4, site: "d")
        #expect(r4)
        #expect(s.waiting.map(\.id) == [3, 4])
        let r5 = s.release(site: "a") == [3]
        #expect(r5)
        let r6 = s.release(site: "b") == [4]
        #expect(r6)
        #expect(s.waiting.isEmpty && s.free == 0)
        #expect(s.held == ["c": 1, "d": 1])
        let r7c = s.release(site: "c"), r7d = s.release(site: "d")
        let r7 = r7c.isEmpty && r7d.isEmpty
        #expect(r7)
        #expect(s.free == 2 && s.held.isEmpty)
    }

    @Test("a site at its cap waits while the other sites' requests pass it; its own release serves it")
    func perSiteCap() {
        var s = BodyBudgetState(blocks: 4, perSite: 2)
        let r8a = s.acquire(1, site: "big"), r8b = s.acquire(2, site: "big")
        let r8 = r8a && r8b
        #expect(r8)
        let r9 = !s.acquire(3, site: "big")
        #expect(r9, "at its cap with blocks free")
        #expect(s.free == 2)
        let r10 = s.acquire(4, site: "small")
        #expect(r10, "another site is served at once, past the waiting one")
        let r11 = s.acquire(5, site: "small")
        #expect(r11)
        let r12 = !s.acquire(6, site: "small")
        #expect(r12)
        #expect(s.free == 0)
        // A block of `small` comes back: `big`'s waiter (older) is still at its cap; `small`'s is served.
        let r13 = s.release(site: "small") == [6]
        #expect(r13)
        let r14 = s.release(site: "big") == [3]
        #expect(r14)
        #expect(s.waiting.isEmpty)
    }

    @Test("a new request does not pass an eligible waiter: it is queued behind it")
    func noOvertaking() {
        var s = BodyBudgetState(blocks: 1, perSite: 1)
        let r15 = s.acquire(1, site: "a")
        #expect(r15)
        let r16 = !s.acquire(2, site: "b")
        #expect(r16)
        let r17 = s.release(site: "a") == [2]
        #expect(r17)
        let r18 = !s.acquire(3, site: "a")
        #expect(r18, "the block went to the waiter, not to the newcomer")
    }

    @Test("a cancelled waiter leaves the queue; a granted one is not cancelled; a stray release makes no block")
    func cancelAndStrayRelease() {
        var s = BodyBudgetState(blocks: 1, perSite: 1)
        let r19 = s.acquire(1, site: "a")
        #expect(r19)
        let r20 = !s.acquire(2, site: "b")
        #expect(r20)
        let r21 = !s.acquire(3, site: "c")
        #expect(r21)
        let r22 = s.cancel(2)
        #expect(r22)
        let r23 = !s.cancel(2)
        #expect(r23)
        let r24 = !s.cancel(1)
        #expect(r24, "granted: its holder releases it")
        let r25 = s.release(site: "nobody").isEmpty
        #expect(r25)
        #expect(s.free == 0)
        let r26 = s.release(site: "a") == [3]
        #expect(r26)
    }

    @Test("random acquire/release/cancel keep the invariants: blocks conserved, caps held, nobody eligible left waiting")
    func invariants() {
        var rng = SplitMix(seed: 14)
        for _ in 0..<200 {
            let blocks = Int(rng.next() % 6) + 1
            var s = BodyBudgetState(blocks: blocks, perSite: Int(rng.next() % UInt64(blocks)) + 1)
            var holders: [String] = []
            var nextID: UInt64 = 0
            var waitingSites: [UInt64: String] = [:]
            for _ in 0..<300 {
                let site = "s\(rng.next() % 4)"
                switch rng.next() % 3 {
                case 0:
                    nextID += 1
                    if s.acquire(nextID, site: site) { holders.append(site) } else { waitingSites[nextID] = site }
                case 1:
                    guard !holders.isEmpty else { continue }
                    let site = holders.remove(at: Int(rng.next() % UInt64(holders.count)))
                    for id in s.release(site: site) { holders.append(waitingSites.removeValue(forKey: id) ?? "?") }
                default:
                    guard let id = waitingSites.keys.sorted().first else { continue }
                    let r27 = s.cancel(id)
                    #expect(r27)
                    waitingSites[id] = nil
                }
                let held = s.held.values.reduce(0, +)
                #expect(held == holders.count && s.free == s.blocks - held && s.free >= 0)
                #expect(s.held.values.allSatisfy { $0 <= s.perSite })
                if s.free > 0 { #expect(s.waiting.allSatisfy { s.held[$0.site, default: 0] >= s.perSite }) }
                #expect(Set(s.waiting.map(\.id)) == Set(waitingSites.keys))
            }
        }
    }

    // MARK: the shell

    @Test("blocks come back when dropped; their buffers are lent again; bytes in use are reported")
    func lendAndReturn() async throws {
        let reported = Shared<[Int]>([])
        let budget = BodyBudget(totalBytes: 2 * 1024, blockBytes: 1024, perSiteShare: 1) { bytes, _ in reported.withLock { $0.append(bytes) } }
        #expect(budget.blocks == 2)
        var a: BodyBudget.Block? = try await budget.acquire(site: "a")
        let b = try await budget.acquire(site: "a")
        #expect(a?.bytes.capacity ?? 0 >= 1024 && b.bytes.isEmpty)
        a?.bytes.append(contentsOf: [UInt8](repeating: 7, count: 1024))
        #expect(a?.isFull == true)
        #expect(budget.snapshot.bytesInUse == 2048)
        a = nil
        #expect(budget.snapshot.bytesInUse == 1024)
        let c = try await budget.acquire(site: "a")
        #expect(c.bytes.isEmpty && c.bytes.capacity >= 1024, "the returned buffer, emptied")
        #expect(reported.withLock { $0 } == [1024, 2048, 1024, 2048])
        _ = (b, c)
    }

    /// Yields until `condition` holds (bounded: a budget that never queues fails the test).
    func until(_ condition: () -> Bool) async {
        for _ in 0..<100_000 where !condition() { await Task.yield() }
        #expect(condition())
    }

    @Test("a request waits while the budget is spent and is served when a block comes back")
    func waitsForABlock() async throws {
        let waited = Shared(0)
        let budget = BodyBudget(totalBytes: 1024, blockBytes: 1024, perSiteShare: 1) { _, w in if w { waited.withLock { $0 += 1 } } }
        var first: BodyBudget.Block? = try await budget.acquire(site: "a")
        let waiter = Task { try await budget.acquire(site: "b").site }
        await until { budget.snapshot.waiting == 1 }
        first = nil
        #expect(try await waiter.value == "b")
        #expect(budget.snapshot.waiting == 0 && budget.snapshot.waits == 1 && waited.withLock { $0 } == 1)
        await until { budget.snapshot.bytesInUse == 0 }
        _ = first
    }

    @Test("a waiting request that is cancelled throws CancellationError and holds nothing")
    func cancelledWaiter() async throws {
        let budget = BodyBudget(totalBytes: 1024, blockBytes: 1024, perSiteShare: 1)
        var first: BodyBudget.Block? = try await budget.acquire(site: "a")
        let cancelled = Task { _ = try await budget.acquire(site: "b") }
        await until { budget.snapshot.waiting == 1 }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(budget.snapshot.waiting == 0)
        first = nil
        #expect(budget.snapshot.bytesInUse == 0, "the block was not handed to the cancelled request")
        let next = try await budget.acquire(site: "c")
        #expect(budget.snapshot.bytesInUse == 1024)
        _ = (first, next)
    }

    @Test("a task cancelled before it asks still fails fast when it must wait, and is served when it need not")
    func cancelledBeforeAsking() async throws {
        let budget = BodyBudget(totalBytes: 1024, blockBytes: 1024, perSiteShare: 1)
        let free = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await budget.acquire(site: "a").site
        }
        #expect(try await free.value == "a", "a block that is free is lent without waiting")
        let held = try await budget.acquire(site: "a")
        let spent = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            _ = try await budget.acquire(site: "b")
        }
        await #expect(throws: CancellationError.self) { try await spent.value }
        #expect(budget.snapshot.waiting == 0)
        _ = held
    }

    @Test("many requests of many sites through a budget of two blocks: all are served, nothing is left lent")
    func manyRequests() async throws {
        let budget = BodyBudget(totalBytes: 2 * 512, blockBytes: 512, perSiteShare: 0.5)
        let inUseMax = Shared(0)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<64 {
                group.addTask {
                    var total = 0
                    for _ in 0..<20 {
                        let block = try await budget.acquire(site: "site-\(i % 5)")
                        block.bytes.append(contentsOf: [UInt8](repeating: UInt8(i), count: 512))
                        let now = budget.snapshot.bytesInUse
                        inUseMax.withLock { $0 = max($0, now) }
                        total += block.bytes.count
                        await Task.yield()
                    }
                    return total
                }
            }
            var sum = 0
            for try await n in group { sum += n }
            #expect(sum == 64 * 20 * 512)
        }
        #expect(inUseMax.withLock { $0 } <= 1024)
        #expect(budget.snapshot.bytesInUse == 0 && budget.snapshot.waiting == 0)
        #expect(budget.state.held.isEmpty && budget.state.free == 2)
    }
}

/// A value tasks and callbacks share.
private final class Shared<T: Sendable>: Sendable {
    private let value: Mutex<T>
    init(_ v: T) { value = Mutex(v) }
    func withLock<R>(_ body: (inout sending T) -> sending R) -> R { value.withLock(body) }
}

/// A small deterministic generator (SplitMix64) for the random walk above.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
