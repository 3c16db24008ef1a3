/// Who gets the next block of the process-wide PATCH gather budget (`BodyBudget`): a fixed number
/// of blocks, granted first come first served, no site holding more than `perSite` at once. Pure
/// bookkeeping — no memory, no continuations, no clock — so every rule is unit-tested
/// (`BodyBudgetTests`); the shell around it keeps the buffers and resumes the waiters it names.
///
/// Invariant: after every call, either no block is free or every queued waiter's site is at its
/// cap. So a new request is granted at once only when nobody eligible waits before it (FIFO), and
/// a release hands its block to the oldest waiter whose site may take one — a site at its cap waits
/// for its own blocks to come back while the other sites' requests pass it.
struct BodyBudgetState: Sendable, Equatable {
    /// Blocks in the budget (at least 1).
    let blocks: Int
    /// Blocks one site may hold at once (at least 1).
    let perSite: Int
    /// Blocks not granted.
    private(set) var free: Int
    /// Blocks granted, by site (no entry for a site that holds none).
    private(set) var held: [String: Int] = [:]
    /// Requests waiting, oldest first.
    private(set) var waiting: [(id: UInt64, site: String)] = []

    init(blocks: Int, perSite: Int) {
        self.blocks = max(1, blocks)
        self.perSite = max(1, perSite)
        self.free = self.blocks
    }

    var inUse: Int { blocks - free }

    private func eligible(_ site: String) -> Bool { free > 0 && held[site, default: 0] < perSite }

    private mutating func grant(_ site: String) {
        free -= 1
        held[site, default: 0] += 1
    }

    /// Asks for a block for request `id` of `site`: true when granted now, false when queued (the
    /// request waits until `release` or `cancel` names it).
    mutating func acquire(_ id: UInt64, site: String) -> Bool {
        if eligible(site) {
            grant(site)
            return true
        }
        waiting.append((id, site))
        return false
    }

    /// A block of `site` comes back; returns the waiters granted by it, oldest first (at most one,
    /// as one block came back). A release by a site that holds nothing is ignored (no block is
    /// made up).
    mutating func release(site: String) -> [UInt64] {
        guard let n = held[site], n > 0 else { return [] }
        held[site] = n > 1 ? n - 1 : nil
        free += 1
        var granted: [UInt64] = []
        var i = 0
        while free > 0 && i < waiting.count {
            if eligible(waiting[i].site) {
                grant(waiting[i].site)
                granted.append(waiting.remove(at: i).id)
            } else {
                i += 1
            }
        }
        return granted
    }

    /// Request `id` stops waiting (cancelled): true when it was queued (now removed), false when it
    /// was not — already granted, so its holder must `release` the block.
    mutating func cancel(_ id: UInt64) -> Bool {
        guard let i = waiting.firstIndex(where: { $0.id == id }) else { return false }
        waiting.remove(at: i)
        return true
    }

    static func == (a: Self, b: Self) -> Bool {
        a.blocks == b.blocks && a.perSite == b.perSite && a.free == b.free && a.held == b.held
            && a.waiting.map(\.id) == b.waiting.map(\.id) && a.waiting.map(\.site) == b.waiting.map(\.site)
    }
}
