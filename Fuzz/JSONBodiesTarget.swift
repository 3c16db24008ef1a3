#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JSON bodies target: the first byte chooses the body — have-check request, heartbeat
/// `SiteReport`, segment manifest, a compact receipt (what a core sends an edge), a binary
/// have-check request or its bitmap answer — and the rest is decoded as a site (or a core) would
/// send it.
func fuzzJSONBodies(_ input: UnsafeRawBufferPointer) {
    guard let mode = input.first else { return }
    let body = Array(input.dropFirst())
    var limits = ParserLimits()
    limits.maxJSONBodyBytes = 64 << 10
    do {
        switch mode % 6 {
        case 0:
            let r = try HaveRequest.parse(body, limits: limits)
            precondition(r.sha256.allSatisfy(Hex.isSHA256), "have-check accepted a bad hash")
        case 1:
            let r = try JSONBody.decode(SiteReport.self, from: body, limits: limits)
            for t in [r.reportedAt, r.oldestCapturedAt, r.lastSuccessAt].compactMap({ $0 }) { _ = try? Timestamp.parse(t) }
            // What the core keeps of a report re-encodes and decodes to the same (streams with
            // or without the edge's `priority`).
            var roomy = limits
            roomy.maxJSONBodyBytes = 1 << 20  // the encoder escapes '/' as '\/'
            let again = try JSONBody.decode(SiteReport.self, from: Array(try JSONEncoder().encode(r)), limits: roomy)
            precondition(again.streams == r.streams, "a report's streams do not round-trip")
        case 3:
            let r = try CompactReceipt.parse(body, limits: limits)
            precondition(r.count >= 0 && r.count <= CompactReceipt.maxObjects && Hex.isSHA256(r.objectsSHA256), "compact receipt accepted out of range")
            precondition(zip(r.duplicates, r.duplicates.dropFirst()).allSatisfy { $0 < $1 } && r.duplicates.allSatisfy { $0 >= 0 && $0 < r.count })
            // Expanding against objects that cannot match returns nil, never traps.
            let one = [ReceiptEntry(stream: "s", name: "n", sha256: r.objectsSHA256, size: UInt64(r.duplicates.count))]
            if let e = r.expand(one) { precondition(e.objects.count == 1 && r.count == 1) }
        case 4:
            let hashes = try BinaryHave.parseRequest(body)
            precondition(hashes.allSatisfy(Hex.isSHA256) && BinaryHave.encode(hashes) == body, "binary have-check does not round-trip")
        case 5:
            // The answer to a request of n hashes, n from the first byte.
            let n = Int(body.first ?? 0)
            let hashes = (0..<n).map { StreamingDigest.sha256Hex([UInt8(truncatingIfNeeded: $0)]) }
            let held = try BinaryHave.parseAnswer(Array(body.dropFirst()), hashes: hashes)
            precondition(held.isSubset(of: Set(hashes)), "a have-check answer named a hash not asked")
            precondition(BinaryHave.encodeAnswer(count: n) { held.contains(hashes[$0]) } == Array(body.dropFirst()), "bitmap does not round-trip")
        default:
            let m = try SegmentManifest.decode(body)
            try m.validate(limits: limits)
            _ = try m.encoded()
        }
    } catch let e as TributaryError {
        precondition(e.code != .io, "unexpected error \(e)")
    } catch {
        preconditionFailure("a JSON body threw a non-TributaryError: \(error)")
    }
}
