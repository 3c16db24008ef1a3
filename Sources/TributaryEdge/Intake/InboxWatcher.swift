#if canImport(Glibc)
import Glibc
#endif
import CPosix
import TributaryFiles

/// Lists the inbox and, with inotify, learns of changes between scans.
///
/// Layout: `inbox/<stream>/<name…>` — the first directory level names the stream, deeper levels are
/// part of the object's name. Files directly in the inbox go to the default stream. Names starting
/// with `.` (at any level) are ignored: write to `.x.tmp`, then rename to `x` for an instant take.
struct InboxWatcher: Sendable {
    struct Entry: Sendable {
        var path: String
        var stream: String
        var name: String
        var kind: Kind
        var observation: SettleTracker.Observation?
    }

    enum Kind: Sendable { case file, symlink, other }

    let inbox: String
    let defaultStream: String
    private var inotifyFD: Int32 = -1
    private var watches: [Int32: String] = [:]
    private var watched: Set<String> = []

    init(inbox: String, defaultStream: String, useInotify: Bool) {
        self.inbox = inbox
        self.defaultStream = defaultStream
        if useInotify { inotifyFD = tributary_inotify_init() }
    }

    var usesInotify: Bool { inotifyFD >= 0 }

    func close() { if inotifyFD >= 0 { Glibc.close(inotifyFD) } }

    /// Every non-hidden entry under the inbox (directories are walked, never returned).
    mutating func scan() -> [Entry] {
        var out: [Entry] = []
        watch(inbox)
        for top in FileIO.list(inbox).sorted() where !top.hasPrefix(".") {
            let path = inbox + "/" + top
            if FileIO.isDirectory(path) {
                walk(path, stream: top, prefix: "", into: &out)
            } else {
                out.append(entry(path, stream: defaultStream, name: top))
            }
        }
        return out
    }

    private mutating func walk(_ dir: String, stream: String, prefix: String, into out: inout [Entry]) {
        watch(dir)
        for name in FileIO.list(dir).sorted() where !name.hasPrefix(".") {
            let path = dir + "/" + name
            if FileIO.isDirectory(path) {
                walk(path, stream: stream, prefix: prefix + name + "/", into: &out)
            } else {
                out.append(entry(path, stream: stream, name: prefix + name))
            }
        }
    }

    private func entry(_ path: String, stream: String, name: String) -> Entry {
        var st = stat()
        guard lstat(path, &st) == 0 else { return Entry(path: path, stream: stream, name: name, kind: .other, observation: nil) }
        let kind: Kind
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        let o = SettleTracker.Observation(
            size: UInt64(st.st_size), mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            inode: UInt64(st.st_ino))
        return Entry(path: path, stream: stream, name: name, kind: kind, observation: o)
    }

    private mutating func watch(_ dir: String) {
        guard inotifyFD >= 0, !watched.contains(dir) else { return }
        let mask = TRIBUTARY_IN_CLOSE_WRITE | TRIBUTARY_IN_MOVED_TO | TRIBUTARY_IN_CREATE
        let wd = tributary_inotify_add_watch(inotifyFD, dir, mask)
        if wd >= 0 {
            watches[wd] = dir
            watched.insert(dir)
        }
    }

    /// Drains pending inotify events without blocking. Returns whether anything happened, and
    /// the paths renamed into the inbox.
    /// Blocks the calling thread until inotify has events or `milliseconds` pass (no inotify:
    /// returns at once). Run it on a `BlockingThread`.
    static func waitForEvents(fd: Int32, milliseconds: Int) -> Bool {
        guard fd >= 0 else { return false }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, Int32(clamping: max(0, milliseconds))) > 0
    }

    var eventFD: Int32 { inotifyFD }

    mutating func drainEvents() -> (changed: Bool, movedIn: [String]) {
        guard inotifyFD >= 0 else { return (false, []) }
        var changed = false
        var moved: [String] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(inotifyFD, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            changed = true
            var off = 0
            while off + 16 <= n {
                let (wd, mask, len) = buffer.withUnsafeBytes { raw in
                    (raw.loadUnaligned(fromByteOffset: off, as: Int32.self),
                     raw.loadUnaligned(fromByteOffset: off + 4, as: UInt32.self),
                     Int(raw.loadUnaligned(fromByteOffset: off + 12, as: UInt32.self)))
                }
                if mask & TRIBUTARY_IN_Q_OVERFLOW != 0 { changed = true }
                if mask & TRIBUTARY_IN_MOVED_TO != 0, mask & TRIBUTARY_IN_ISDIR == 0, len > 0, let dir = watches[wd] {
                    let nameBytes = buffer[(off + 16)..<(off + 16 + len)].prefix { $0 != 0 }
                    moved.append(dir + "/" + String(decoding: nameBytes, as: UTF8.self))
                }
                off += 16 + len
            }
        }
        // Directories removed and re-created get new watches on the next scan.
        if changed { watched = watched.filter { FileIO.isDirectory($0) } }
        return (changed, moved)
    }
}
