import TributaryProtocol

// Each catalog record built from a row, once for every backend: `columns` is the select list
// (in the order `init(row:)` reads it) and the SQL of both dialects interpolates it, so a
// column is named and mapped in one place. Tables: SQLiteCatalog+Schema.swift.

extension SiteRecord {
    static let columns = "site, created_at"

    init(row: some CatalogRow) throws {
        self.init(site: try row.text(0), createdAt: try row.text(1))
    }
}

extension StoredObject {
    static let columns = "key, size"

    init(row: some CatalogRow) throws {
        self.init(key: try row.text(0), size: try row.size(1))
    }
}

extension StoredReceipt {
    static let columns = "receipt, length"

    init(row: some CatalogRow) throws {
        self.init(json: Array(try row.text(0).utf8), length: try row.size(1))
    }
}

extension ArrivalRecord {
    static let columns = "upload_id, seq, site, stream, name, sha256, size, captured_at, received_at, key, status, relay"

    init(row: some CatalogRow) throws {
        let status = try row.text(10)
        guard let s = CommitReceipt.Status(rawValue: status), let seq = Int(exactly: try row.integer(1)) else {
            throw TributaryError(.io, "catalog row: arrival with status \(status)")
        }
        self.init(
            uploadID: try row.text(0), seq: seq, site: try row.text(2), stream: try row.text(3), name: try row.text(4),
            sha256: try row.text(5), size: try row.size(6), capturedAt: try row.text(7), receivedAt: try row.text(8),
            key: try row.text(9), status: s, relay: try row.textOrNil(11))
    }
}

extension SiteCredential {
    static let columns = "site, kind, value, created_at, expires_at"

    init(row: some CatalogRow) throws {
        let kind = try row.text(1)
        guard let k = Kind(rawValue: kind) else { throw TributaryError(.io, "catalog row: credential of kind \(kind)") }
        self.init(site: try row.text(0), kind: k, value: try row.text(2), createdAt: try row.text(3), expiresAt: try row.textOrNil(4))
    }
}

extension BacklogPoint {
    static let columns = "at, pending_objects, pending_bytes"

    init(row: some CatalogRow) throws {
        self.init(at: try row.text(0), pendingObjects: try row.integer(1), pendingBytes: try row.integer(2))
    }
}

extension DropCounter {
    static let columns = "dropped_objects, drops_changed_at"

    init(row: some CatalogRow) throws {
        self.init(count: try row.integer(0), changedAt: try row.textOrNil(1))
    }
}

extension PendingManifest {
    static let columns = "upload_id, committed_at, origin, path"

    init(row: some CatalogRow) throws {
        self.init(
            uploadID: try row.text(0), committedAt: try row.text(1), arrivals: [], origin: try row.textOrNil(2),
            path: ForwardSchema.path(try row.textOrNil(3)))
    }
}

extension SiteState {
    /// `sites s LEFT JOIN site_state st`: a site without activity has NULLs in every `st` column.
    static let columns = """
        s.site, s.created_at, st.last_seen, st.last_report_at, st.report, st.drops_changed_at, st.last_commit_at,
        st.objects_received, st.bytes_received, st.objects_stored, st.bytes_stored, st.duplicates, st.duplicate_bytes,
        st.lag_count, st.lag_sum
        """
    /// Rows of `site_lag` and `site_rejections` that `merging` reads.
    static let lagColumns = "site, bucket, count"
    static let rejectionColumns = "site, reason, count"

    init(row: some CatalogRow) throws {
        self.init(site: try row.text(0), createdAt: try row.text(1))
        lastSeen = try row.textOrNil(2)
        lastReportAt = try row.textOrNil(3)
        // The report was validated before it was stored; one that no longer decodes (written by
        // a newer core) shows as no report rather than hiding the site.
        report = try row.textOrNil(4).flatMap { try? JSON.decode(SiteReport.self, Array($0.utf8)) }
        dropsChangedAt = try row.textOrNil(5)
        lastCommitAt = try row.textOrNil(6)
        counters.objectsReceived = try row.integerOrNil(7) ?? 0
        counters.bytesReceived = try row.integerOrNil(8) ?? 0
        counters.objectsStored = try row.integerOrNil(9) ?? 0
        counters.bytesStored = try row.integerOrNil(10) ?? 0
        counters.duplicates = try row.integerOrNil(11) ?? 0
        counters.duplicateBytes = try row.integerOrNil(12) ?? 0
        lag.count = try row.integerOrNil(13) ?? 0
        lag.sumSeconds = try row.realOrNil(14) ?? 0
    }

    /// `states` (by site) with their lag buckets and rejection counts filled in. A bucket
    /// outside `LagHistogram.bounds` (a newer core's) or a row of an unlisted site is skipped.
    static func merging(_ states: [SiteState], lag: [some CatalogRow], rejections: [some CatalogRow]) throws -> [SiteState] {
        var out = states
        var index: [String: Int] = [:]
        for (i, s) in out.enumerated() { index[s.site] = i }
        for r in lag {
            guard let i = index[try r.text(0)], let b = Int(exactly: try r.integer(1)), out[i].lag.counts.indices.contains(b) else { continue }
            out[i].lag.counts[b] = try r.integer(2)
        }
        for r in rejections {
            guard let i = index[try r.text(0)] else { continue }
            out[i].rejections[try r.text(1)] = try r.integer(2)
        }
        return out
    }
}

extension RelayGrant {
    static let columns = "site, sites, created_at"

    init(row: some CatalogRow) throws {
        self.init(site: try row.text(0), sites: try row.text(1).split(separator: ",").map(String.init), createdAt: try row.text(2))
    }
}
