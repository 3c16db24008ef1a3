/// Tar target: the input is an uncompressed tar stream, fed to `TarParser` whole and again in
/// two pieces split where the first byte says. Both feeds must agree on every member and on
/// the outcome, and each member must deliver exactly its declared size.
func fuzzTar(_ input: UnsafeRawBufferPointer) {
    let whole = TarRecorder.run(input, splitAt: input.count)
    let split = input.isEmpty ? input.count : Int(input[0]) * input.count / 256
    let pieces = TarRecorder.run(input, splitAt: split)
    precondition(whole == pieces, "TarParser answers differently when fed in two pieces (split at \(split))")
}

struct TarRecorder: TarParser.Delegate, Equatable {
    var members: [TarHeader] = []
    var open: (header: TarHeader, received: UInt64)?
    var outcome = ""

    static func == (a: TarRecorder, b: TarRecorder) -> Bool { a.members == b.members && a.outcome == b.outcome }

    /// Limits small enough that the fuzzer reaches them.
    static let limits: ParserLimits = {
        var l = ParserLimits()
        l.maxPaxRecordBytes = 600
        l.maxPaxHeaderBytes = 2048
        l.maxTrailingBytes = 2048
        return l
    }()

    static func run(_ input: UnsafeRawBufferPointer, splitAt: Int) -> TarRecorder {
        var parser = TarParser(limits: limits)
        var r = TarRecorder()
        do {
            try parser.feed(UnsafeRawBufferPointer(rebasing: input[..<splitAt]), into: &r)
            try parser.feed(UnsafeRawBufferPointer(rebasing: input[splitAt...]), into: &r)
            r.outcome = parser.reachedEnd ? "end" : "open"
        } catch let e as TributaryError {
            precondition(e.code == .corruptSegment, "TarParser threw \(e.code)")
            r.outcome = "error"
        } catch {
            preconditionFailure("TarParser threw a non-TributaryError: \(error)")
        }
        return r
    }

    mutating func tarMemberBegan(_ header: TarHeader) throws {
        precondition(open == nil, "member began inside another")
        open = (header, 0)
    }

    mutating func tarMemberData(_ bytes: UnsafeRawBufferPointer) throws {
        guard let o = open else { preconditionFailure("data outside a member") }
        open = (o.header, o.received + UInt64(bytes.count))
        precondition(o.received + UInt64(bytes.count) <= o.header.size, "more data than the header declares")
    }

    mutating func tarMemberEnded() throws {
        guard let o = open else { preconditionFailure("member ended outside a member") }
        precondition(o.received == o.header.size, "member ended after \(o.received) of \(o.header.size) bytes")
        members.append(o.header)
        open = nil
    }
}
