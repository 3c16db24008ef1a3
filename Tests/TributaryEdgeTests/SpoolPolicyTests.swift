import Testing
@testable import TributaryEdge

/// Every answer of `SpoolPolicy`, without a journal.
@Suite struct SpoolPolicyTests {
    let block = SpoolPolicy(maxBytes: 1000, maxObjects: 10, full: .block)
    let drop = SpoolPolicy(maxBytes: 1000, maxObjects: 10, full: .dropOldest)

    func use(_ b: UInt64, _ o: Int) -> SpoolPolicy.Use { .init(bytes: b, objects: o) }

    @Test func aGroupThatFitsIsAdmittedWithoutAskingForCandidates() {
        for p in [block, drop] {
            #expect(p.admit(bytes: 400, count: 2, use: use(600, 8)) { Issue.record("asked"); return [] } == .admit(evict: 0))
        }
    }

    @Test func aGroupLargerThanTheSpoolIsRefusedUnderEitherPolicy() {
        for p in [block, drop] {
            #expect(p.admit(bytes: 1001, count: 1, use: use(0, 0)) { [] } == .refuse(.largerThanSpool))
            #expect(p.admit(bytes: 1, count: 11, use: use(0, 0)) { [] } == .refuse(.largerThanSpool))
        }
    }

    @Test func blockRefusesWhatDoesNotFitBesideTheRest() {
        #expect(block.admit(bytes: 401, count: 1, use: use(600, 1)) { [] } == .refuse(.noRoom))
        #expect(block.admit(bytes: 1, count: 3, use: use(0, 8)) { [] } == .refuse(.noRoom))
    }

    @Test func dropOldestEvictsInOrderJustEnough() {
        // 700 used; 500 needed: evicting 100 then 50 is not enough, then 200 is.
        #expect(drop.admit(bytes: 500, count: 1, use: use(700, 3)) { [100, 50, 200, 250] } == .admit(evict: 3))
        // By count: 10 objects in use, 2 needed → 2 evicted whatever their size.
        #expect(drop.admit(bytes: 2, count: 2, use: use(20, 10)) { [1, 1, 1] } == .admit(evict: 2))
    }

    @Test func dropOldestRefusesWhenEverythingEvictableIsNotEnough() {
        #expect(drop.admit(bytes: 900, count: 1, use: use(800, 4)) { [100, 100] } == .refuse(.nothingToEvict))
    }

    @Test func takesNothingOnlyUnderBlockAtALimit() {
        #expect(block.takesNothing(use(1000, 0)) && block.takesNothing(use(0, 10)))
        #expect(!block.takesNothing(use(999, 9)))
        #expect(!drop.takesNothing(use(1000, 10)))
    }
}
