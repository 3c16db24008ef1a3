#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

extension CommitRecord {
    /// Resolves dedup against what the catalog holds and builds the receipt. `existingKey` answers
    /// "where does this site already hold content X?" inside the catalog's transaction.
    func resolve(existingKey: (String) throws -> String?) throws -> (arrivals: [ArrivalRecord], newObjects: [ArrivalRecord], orphans: [String]) {
        var final = arrivals
        var keyBySHA: [String: String] = [:]
        var newObjects: [ArrivalRecord] = []
        var orphans: [String] = []
        for i in final.indices {
            let sha = final[i].sha256
            if let k = keyBySHA[sha] {
                if final[i].status == .stored && final[i].key != k { orphans.append(final[i].key) }
                final[i].status = .duplicate
                final[i].key = k
                continue
            }
            if let existing = try existingKey(sha) {
                if final[i].status == .stored && final[i].key != existing { orphans.append(final[i].key) }
                final[i].status = .duplicate
                final[i].key = existing
            } else {
                newObjects.append(final[i])
            }
            keyBySHA[sha] = final[i].key
        }
        return (final, newObjects, orphans)
    }

    func receipt(for arrivals: [ArrivalRecord]) -> CommitReceipt {
        CommitReceipt(
            uploadID: uploadID, site: site, kind: kind, committedAt: committedAt,
            objects: arrivals.map {
                CommitReceipt.Object(stream: $0.stream, name: $0.name, sha256: $0.sha256, size: $0.size, status: $0.status, key: $0.key)
            }, relay: relay)
    }
}

extension CommitOutcome {
    /// The outcome of committing an upload that is already committed: its stored receipt,
    /// unchanged, and nothing to remove.
    init(existing: StoredReceipt) throws {
        self.init(receipt: try JSON.decode(CommitReceipt.self, existing.json), receiptJSON: existing.json, orphanedKeys: [])
    }
}
