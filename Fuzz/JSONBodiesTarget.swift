/// JSON bodies target: the first byte chooses the body — have-check request, heartbeat
/// `SiteReport`, or segment manifest — and the rest is decoded as a site would send it.
func fuzzJSONBodies(_ input: UnsafeRawBufferPointer) {
    guard let mode = input.first else { return }
    let body = Array(input.dropFirst())
    var limits = ParserLimits()
    limits.maxJSONBodyBytes = 64 << 10
    do {
        switch mode % 3 {
        case 0:
            let r = try HaveRequest.parse(body, limits: limits)
            precondition(r.sha256.allSatisfy(Hex.isSHA256), "have-check accepted a bad hash")
        case 1:
            let r = try JSONBody.decode(SiteReport.self, from: body, limits: limits)
            for t in [r.reportedAt, r.oldestCapturedAt, r.lastSuccessAt].compactMap({ $0 }) { _ = try? Timestamp.parse(t) }
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
