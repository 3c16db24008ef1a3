/// Names target: the input is a stream id, site id or object name (the first byte says which).
/// A valid object name must give a lake name of safe bytes only, with as many components.
func fuzzNames(_ input: UnsafeRawBufferPointer) {
    guard let mode = input.first else { return }
    let s = String(decoding: input.dropFirst(), as: UTF8.self)
    _ = Names.printable(s)
    switch mode % 3 {
    case 0:
        guard (try? Names.validateStream(s)) != nil else { return }
        precondition(Names.sanitizeComponent(s) == s, "a valid stream changes when sanitized")
    case 1:
        _ = try? Names.validateSite(s)
    default:
        guard (try? Names.validateObjectName(s)) != nil else {
            _ = Names.lakeName(s, tag: "0123456789abcdef")  // must not trap on any string either
            return
        }
        let lake = Names.lakeName(s, tag: "0123456789abcdef")
        let safe = lake.utf8.allSatisfy { Names.isAlnum($0) || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d || $0 == 0x2f }
        precondition(safe, "lake name '\(Names.printable(lake))' holds an unsafe byte")
        let components = lake.split(separator: "/", omittingEmptySubsequences: false)
        precondition(components.count == s.split(separator: "/", omittingEmptySubsequences: false).count, "component count changed")
        precondition(components.allSatisfy { !$0.isEmpty && $0.first != "." }, "empty or hidden lake component")
    }
}
