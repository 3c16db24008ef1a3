import TributaryProtocol

extension SiteReport {
    /// Most streams one report may name.
    static let maxStreams = 10_000
    /// `last_error` is kept to this many characters (an edge's error text is not bounded).
    static let maxErrorCharacters = 2000

    /// Checks a heartbeat body beyond its JSON shape; returns it with `last_error` trimmed.
    /// Throws `DomainError(.badReport)` naming the first bad field.
    func validated() throws -> SiteReport {
        func bad(_ m: String) -> DomainError { DomainError(.badReport, m) }
        func timestamp(_ field: String, _ v: String?) throws {
            guard let v else { return }
            guard (try? Timestamp.parse(v)) != nil else { throw bad("\(field) '\(Names.printable(v))' is not an RFC 3339 timestamp") }
        }
        for (field, v) in [
            ("pending_objects", Int64(pendingObjects)), ("spool_used_objects", Int64(spoolUsedObjects)),
            ("spool_max_objects", Int64(spoolMaxObjects)), ("dropped_objects", droppedObjects), ("dropped_bytes", droppedBytes),
            ("quarantined_objects", quarantinedObjects),
        ] where v < 0 {
            throw bad("\(field) must not be negative, got \(v)")
        }
        guard streams.count <= Self.maxStreams else { throw bad("at most \(Self.maxStreams) streams per report, got \(streams.count)") }
        try timestamp("reported_at", reportedAt)
        try timestamp("oldest_captured_at", oldestCapturedAt)
        try timestamp("last_success_at", lastSuccessAt)
        for s in streams {
            do { try Names.validateStream(s.stream) } catch let e as TributaryError { throw bad("streams: \(e.message)") }
            guard s.pendingObjects >= 0 else { throw bad("streams: '\(s.stream)' pending_objects must not be negative") }
            try timestamp("streams: '\(s.stream)' oldest_captured_at", s.oldestCapturedAt)
        }
        guard agentVersion.count <= 128 else { throw bad("agent_version is longer than 128 characters") }
        guard linkState.count <= 32 else { throw bad("link_state is longer than 32 characters") }
        if let q = quarantined {
            guard q.count <= Self.maxQuarantinedListed else { throw bad("at most \(Self.maxQuarantinedListed) quarantined objects per report, got \(q.count)") }
            guard q.allSatisfy({ $0.stream.count <= 256 && $0.name.count <= 1024 && $0.reason.count <= Self.maxErrorCharacters && $0.at.count <= 64 }) else {
                throw bad("quarantined: a field is too long")
            }
        }
        guard (chunkBytes?.count ?? 0) <= 8 else { throw bad("chunk_bytes names more than 8 lanes") }
        try timestamp("goodput.since", goodput?.since)
        try timestamp("session_goodput.since", sessionGoodput?.since)
        var out = self
        if let e = lastError, e.count > Self.maxErrorCharacters { out.lastError = String(e.prefix(Self.maxErrorCharacters)) + "…" }
        return out
    }
}

extension DecodingError {
    /// "missing 'pending_bytes'", "'streams[0].pending_objects' has the wrong type" — for error bodies.
    var fieldDescription: String {
        func path(_ c: [any CodingKey]) -> String {
            c.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().trimmingPrefixDot()
        }
        switch self {
        case .keyNotFound(let key, let ctx):
            let p = path(ctx.codingPath + [key])
            return "missing '\(p)'"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx):
            return "'\(path(ctx.codingPath))' has the wrong type or is null"
        case .dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "not valid JSON" : "'\(path(ctx.codingPath))' is not valid"
        @unknown default:
            return "not a valid report"
        }
    }
}

extension String {
    fileprivate func trimmingPrefixDot() -> String { hasPrefix(".") ? String(dropFirst()) : self }
}
