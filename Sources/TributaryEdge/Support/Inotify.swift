#if canImport(Glibc)
import Glibc
#endif

/// Reads an inotify instance's events (non-blocking descriptor) until none are left.
enum Inotify {
    struct Event: Equatable {
        var watch: Int32
        var mask: UInt32
        /// The name within a watched directory (empty for the watched file itself).
        var name: String
    }

    /// The read buffer: on the stack, not zeroed, not on the heap (the drain runs before every
    /// scan pass). It holds at least 60 events of the longest name (16 + NAME_MAX + 1 bytes each);
    /// more are read by the next `read` of the loop.
    static let bufferBytes = 16 * 1024

    /// Every pending event, in order. The kernel writes whole events; a short or odd read ends it.
    static func drain(_ fd: Int32) -> [Event] {
        var events: [Event] = []
        withUnsafeTemporaryAllocation(byteCount: bufferBytes, alignment: 8) { buffer in
            while true {
                let n = read(fd, buffer.baseAddress, buffer.count)
                if n <= 0 { break }
                events.append(contentsOf: parse(UnsafeRawBufferPointer(rebasing: buffer[0..<n])))
            }
        }
        return events
    }

    /// The events of one `read`: whole events only, a name ends at its first NUL or at the
    /// event's end, whichever is first; a truncated event ends the list.
    static func parse(_ raw: UnsafeRawBufferPointer) -> [Event] {
        var events: [Event] = []
        let n = raw.count
        var off = 0
        while off + 16 <= n {
            let wd = raw.loadUnaligned(fromByteOffset: off, as: Int32.self)
            let mask = raw.loadUnaligned(fromByteOffset: off + 4, as: UInt32.self)
            let len = Int(raw.loadUnaligned(fromByteOffset: off + 12, as: UInt32.self))
            let end = min(n, off + 16 + len)
            let name = String(decoding: raw[(off + 16)..<end].prefix { $0 != 0 }, as: UTF8.self)
            events.append(Event(watch: wd, mask: mask, name: name))
            off += 16 + len
        }
        return events
    }
}
