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
    /// A directory of the last scan could not be watched.
    private var missedWatch = false

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
        missedWatch = false
        watch(inbox)
        walk(inbox, stream: nil, prefix: "", into: &out)
        return out
    }

    /// One `lstat` per name: a directory is walked (never followed through a symlink), anything
    /// else becomes an entry. At the inbox's top level (`stream` nil) a directory names the stream
    /// and a file goes to the default stream.
    private mutating func walk(_ dir: String, stream: String?, prefix: String, into out: inout [Entry]) {
        if stream != nil { watch(dir) }
        for name in FileIO.list(dir).sorted() where !name.hasPrefix(".") {
            let path = dir + "/" + name
            var st = stat()
            let found = lstat(path, &st) == 0
            if found && (st.st_mode & S_IFMT) == S_IFDIR {
                if let stream {
                    walk(path, stream: stream, prefix: prefix + name + "/", into: &out)
                } else {
                    walk(path, stream: name, prefix: "", into: &out)
                }
            } else {
                out.append(entry(path, stream: stream ?? defaultStream, name: prefix + name, stat: found ? st : nil))
            }
        }
    }

    private func entry(_ path: String, stream: String, name: String, stat found: stat?) -> Entry {
        guard let st = found else { return Entry(path: path, stream: stream, name: name, kind: .other, observation: nil) }
        let kind: Kind
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        // A local writer can set any mtime (`touch -d`): saturate rather than trap on overflow.
        let (ns, overflow) = Int64(st.st_mtim.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        let mtime = overflow ? (st.st_mtim.tv_sec < 0 ? Int64.min : Int64.max) : ns.addingReportingOverflow(Int64(st.st_mtim.tv_nsec)).partialValue
        let o = SettleTracker.Observation(size: UInt64(max(0, st.st_size)), mtimeNanoseconds: mtime, inode: UInt64(st.st_ino))
        return Entry(path: path, stream: stream, name: name, kind: kind, observation: o)
    }

    private mutating func watch(_ dir: String) {
        guard inotifyFD >= 0, !watched.contains(dir) else { return }
        // IN_ATTRIB: a refused file made readable (chmod) is taken without waiting for a rescan.
        let mask = TRIBUTARY_IN_CLOSE_WRITE | TRIBUTARY_IN_MOVED_TO | TRIBUTARY_IN_CREATE | TRIBUTARY_IN_ATTRIB
        let wd = tributary_inotify_add_watch(inotifyFD, dir, mask)
        if wd >= 0 {
            watches[wd] = dir
            watched.insert(dir)
        } else {
            missedWatch = true
        }
    }

    var eventFD: Int32 { inotifyFD }

    /// The longest an idle inbox goes without a rescan while inotify watches all of it: a safety
    /// net only (every change it watches for ends the wait at once).
    static let safetyRescanMilliseconds = 60_000

    /// How long to wait for the next scan if no inotify event comes first. Pure.
    /// - A file waiting to settle (`settles`): exactly until it can be complete.
    /// - `poll_ms` while inotify cannot be trusted to see every change (off, a directory
    ///   unwatched, events lost to `IN_Q_OVERFLOW`) or something is to be retried (spool full
    ///   under `block`, a file that changed while copied, an intake error).
    /// - Otherwise the long safety timer.
    static func rescanDelay(now: Double, settles: Double?, watchesAll: Bool, retrySoon: Bool, pollMilliseconds: Int) -> Int {
        let base = watchesAll && !retrySoon ? safetyRescanMilliseconds : pollMilliseconds
        guard let settles else { return base }
        return max(1, min(base, Int(((settles - now) * 1000).rounded(.up))))
    }

    /// Whether inotify watched every directory of the last scan: if not (no inotify, or
    /// `max_user_watches` reached), a change can go unnoticed and only a rescan finds it.
    var watchesAll: Bool { inotifyFD >= 0 && !missedWatch }

    /// Drains pending inotify events without blocking: whether anything happened, whether events
    /// were lost (`IN_Q_OVERFLOW`: only a rescan can tell what changed), and the paths renamed
    /// into the inbox.
    mutating func drainEvents() -> (changed: Bool, overflowed: Bool, movedIn: [String]) {
        guard inotifyFD >= 0 else { return (false, false, []) }
        let events = Inotify.drain(inotifyFD)
        var moved: [String] = []
        var overflowed = false
        for e in events {
            if e.mask & TRIBUTARY_IN_Q_OVERFLOW != 0 { overflowed = true }
            if e.mask & TRIBUTARY_IN_MOVED_TO != 0, e.mask & TRIBUTARY_IN_ISDIR == 0, !e.name.isEmpty, let dir = watches[e.watch] {
                moved.append(dir + "/" + e.name)
            }
        }
        // Directories removed and re-created get new watches on the next scan.
        if !events.isEmpty { watched = watched.filter { FileIO.isDirectory($0) } }
        return (!events.isEmpty, overflowed, moved)
    }
}
