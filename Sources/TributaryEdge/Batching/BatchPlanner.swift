#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

/// What to build next from the pending objects. Pure.
public enum BatchPlan: Sendable, Equatable {
    /// One object as its own upload; `compress` when zstd is worth it.
    case single(SpoolObject, compress: Bool)
    /// A segment: objects in order, `ref` for content the core already holds (no bytes sent).
    case segment([(object: SpoolObject, ref: Bool)])

    public static func == (a: BatchPlan, b: BatchPlan) -> Bool {
        switch (a, b) {
        case (.single(let x, let cx), .single(let y, let cy)): return x == y && cx == cy
        case (.segment(let x), .segment(let y)): return x.map(\.object) == y.map(\.object) && x.map(\.ref) == y.map(\.ref)
        default: return false
        }
    }
}

/// Chooses batches: segments closed by size, count or age; large and incompressible objects alone.
///
/// - An object of at least `largeObjectBytes`, or incompressible and at least
///   `incompressibleAloneBytes`, goes as its own upload (zstd-encoded only if compressible), unless
///   the core already holds it — then it is a `ref` in a segment and no bytes go.
/// - Otherwise objects are packed in sending order until the segment's content would pass
///   `segmentMaxBytes` or it holds `segmentMaxObjects`. Two objects with the same (stream, name)
///   never share a segment (the format forbids it); the later one waits for the next.
/// - A segment is due when its candidates fill it, or when the oldest of them was accepted
///   `segmentMaxAge` ago, or — when the fresh lane is idle (nothing queued or in flight) — when
///   the newest of them was accepted `segmentIdleLinger` ago (the burst has ended; waiting would
///   only add latency on a link with nothing to do).
public struct BatchPlanner: Sendable {
    public var configuration: EdgeConfiguration

    public init(configuration: EdgeConfiguration) { self.configuration = configuration }

    func goesAlone(_ o: SpoolObject) -> Bool {
        o.size >= configuration.largeObjectBytes || (!o.compressible && o.size >= configuration.incompressibleAloneBytes)
    }

    /// Whether a batch should be built now, before asking the core anything, for the lanes that
    /// have room (`lanes`: singles go to `.bulk`, segments to `.fresh`). Returns the seconds to
    /// wait otherwise.
    public func due(
        _ candidates: [SpoolObject], now: Date, lanes: Set<UploadLane> = Set(UploadLane.allCases), freshIdle: Bool = false
    ) -> (due: Bool, waitSeconds: Double) {
        let d = dueLanes(candidates, now: now, lanes: lanes, freshIdle: freshIdle)
        return (!d.lanes.isEmpty, d.waitSeconds)
    }

    /// The lanes (among `lanes`, those with room) for which a batch is due now: `.bulk` when an
    /// object goes alone, `.fresh` when a segment is due (full, or its oldest object old enough).
    public func dueLanes(
        _ candidates: [SpoolObject], now: Date, lanes: Set<UploadLane>, freshIdle: Bool = false
    ) -> (lanes: Set<UploadLane>, waitSeconds: Double) {
        var out = Set<UploadLane>()
        if lanes.contains(.bulk), candidates.contains(where: goesAlone) { out.insert(.bulk) }
        guard lanes.contains(.fresh) else { return (out, 1) }
        let small = candidates.filter { !goesAlone($0) }
        guard !small.isEmpty else { return (out, 1) }
        let segment = segmentDue(small, now: now, freshIdle: freshIdle)
        if segment.due { out.insert(.fresh) }
        return (out, segment.waitSeconds)
    }

    private func segmentDue(_ candidates: [SpoolObject], now: Date, freshIdle: Bool) -> (due: Bool, waitSeconds: Double) {
        var bytes: UInt64 = 0
        for c in candidates { bytes = bytes.addingReportingOverflow(c.size).partialValue }
        if bytes >= configuration.segmentMaxBytes || candidates.count >= configuration.segmentMaxObjects { return (true, 0) }
        let accepted = candidates.compactMap { try? Timestamp.parse($0.acceptedAt) }
        let age = now.timeIntervalSince(accepted.min() ?? now)
        let maxAge = Double(configuration.segmentMaxAgeMilliseconds) / 1000
        if age >= maxAge { return (true, 0) }
        var wait = maxAge - age
        if freshIdle && configuration.segmentIdleLingerMilliseconds > 0 {
            let quiet = now.timeIntervalSince(accepted.max() ?? now)
            let linger = Double(configuration.segmentIdleLingerMilliseconds) / 1000
            if quiet >= linger { return (true, 0) }
            wait = min(wait, linger - quiet)
        }
        return (false, wait)
    }

    /// The next batch from `candidates` (in sending order), given the hashes the core holds and
    /// the lanes with room. Priorities hold within a lane: the first candidate that fits a lane
    /// with room decides the batch.
    public func plan(_ candidates: [SpoolObject], held: Set<String>, lanes: Set<UploadLane> = Set(UploadLane.allCases)) -> BatchPlan? {
        var entries: [(object: SpoolObject, ref: Bool)] = []
        var bytes: UInt64 = 0
        var names = Set<String>()
        for o in candidates {
            let ref = held.contains(o.sha256)
            if !ref && goesAlone(o) {
                if entries.isEmpty && lanes.contains(.bulk) { return .single(o, compress: o.compressible) }
                continue
            }
            guard lanes.contains(.fresh) else { continue }
            let key = o.stream + "/" + o.name
            if names.contains(key) { continue }
            if !ref && !entries.isEmpty && bytes + o.size > configuration.segmentMaxBytes { break }
            entries.append((o, ref))
            names.insert(key)
            if !ref { bytes += o.size }
            if entries.count >= configuration.segmentMaxObjects { break }
        }
        return entries.isEmpty ? nil : .segment(entries)
    }
}
