/// The drop rule, in one place for every catalog backend: a site's edge reports how many objects
/// it has dropped since it started (`SiteReport.droppedObjects`); the catalog keeps the last
/// reported count and `changedAt`, the last time a report's count was higher than the one
/// before. `changedAt` drives the `dropping` status (FleetRules). A count that goes down (the
/// edge restarted, its counter began again) is kept as the new baseline without a change.
public struct DropCounter: Sendable, Equatable {
    public var count: Int64
    public var changedAt: String?

    public init(count: Int64, changedAt: String?) {
        self.count = count
        self.changedAt = changedAt
    }

    /// The counter after a report of `reported` drops at `at`, given what the catalog held
    /// (nil for a site that never reported: any drop is a change).
    public static func after(_ previous: DropCounter?, reported: Int64, at: String) -> DropCounter {
        let before = previous?.count ?? 0
        return DropCounter(count: reported, changedAt: reported > before ? at : previous?.changedAt)
    }
}
