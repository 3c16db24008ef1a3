import Testing
@testable import TributaryEdge

/// The inotify event parser (the drain reads into a 16 KiB stack buffer) and the batcher's
/// heap-trim rule.
@Suite struct EdgeMemoryTests {
    /// One inotify event as the kernel writes it: wd, mask, cookie, len, then the NUL-padded name.
    private func event(_ wd: Int32, _ mask: UInt32, _ name: String, padTo len: Int? = nil) -> [UInt8] {
        var name = Array(name.utf8)
        let len = len ?? (name.isEmpty ? 0 : (name.count + 1 + 15) / 16 * 16)
        name += [UInt8](repeating: 0, count: len - name.count)
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        return le(wd) + le(mask) + le(UInt32(0)) + le(UInt32(len)) + name
    }

    private func parse(_ bytes: [UInt8]) -> [Inotify.Event] {
        bytes.withUnsafeBytes { Inotify.parse($0) }
    }

    @Test func parsesEveryWholeEventInOrder() {
        let bytes = event(1, 0x80, "a.csv") + event(2, 0x100, "") + event(3, 0x80, "reading-000123.csv")
        #expect(parse(bytes) == [
            .init(watch: 1, mask: 0x80, name: "a.csv"),
            .init(watch: 2, mask: 0x100, name: ""),
            .init(watch: 3, mask: 0x80, name: "reading-000123.csv"),
        ])
    }

    @Test func aTruncatedEventEndsTheListAndANameNeverRunsPastTheRead() {
        let whole = event(1, 0x80, "a.csv")
        // A header cut short: nothing more.
        #expect(parse(whole + event(2, 0x80, "b.csv").prefix(10)) == [.init(watch: 1, mask: 0x80, name: "a.csv")])
        // A length past the read's end: the name is what the read holds, then the list ends.
        let long = event(2, 0x80, "bc", padTo: 64).prefix(16 + 2)
        #expect(parse(whole + long) == [.init(watch: 1, mask: 0x80, name: "a.csv"), .init(watch: 2, mask: 0x80, name: "bc")])
        #expect(parse([]) == [])
    }

    @Test func theStackBufferHoldsAtLeastOneLongestEvent() {
        // 16 bytes of header + NAME_MAX (255) + NUL: read(2) fails with EINVAL on a smaller buffer.
        #expect(Inotify.bufferBytes >= 16 + 255 + 1)
    }

    @Test func heapTrimsOnceWhenABurstIsOver() {
        var t = HeapTrim()
        var trims: [Bool] = []
        trims.append(t.idle())  // idle from the start: nothing to give back
        t.built()
        t.built()
        trims.append(t.idle())  // the burst is over
        trims.append(t.idle())  // still idle: once is enough
        t.built()
        trims.append(t.idle())
        #expect(trims == [false, true, false, true])
    }
}
