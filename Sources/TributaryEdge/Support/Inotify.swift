#if canImport(Glibc)
import Glibc
#endif

/// Reads an inotify instance's events (non-blocking descriptor) until none are left.
enum Inotify {
    struct Event {
        var watch: Int32
        var mask: UInt32
        /// The name within a watched directory (empty for the watched file itself).
        var name: String
    }

    /// Every pending event, in order. The kernel writes whole events; a short or odd read ends it.
    static func drain(_ fd: Int32) -> [Event] {
        var events: [Event] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            var off = 0
            while off + 16 <= n {
                let (wd, mask, len) = buffer.withUnsafeBytes { raw in
                    (raw.loadUnaligned(fromByteOffset: off, as: Int32.self),
                     raw.loadUnaligned(fromByteOffset: off + 4, as: UInt32.self),
                     Int(raw.loadUnaligned(fromByteOffset: off + 12, as: UInt32.self)))
                }
                let end = min(n, off + 16 + len)
                let name = String(decoding: buffer[(off + 16)..<end].prefix { $0 != 0 }, as: UTF8.self)
                events.append(Event(watch: wd, mask: mask, name: name))
                off += 16 + len
            }
        }
        return events
    }
}
