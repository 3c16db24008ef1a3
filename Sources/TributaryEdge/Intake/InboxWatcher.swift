#if canImport(Glibc)
import Glibc
#endif
import CPosix
import TributaryFiles

/// Lists the inbox and, with inotify, learns of changes between scans.
///
/// The walk is streamed and bounded: each pass (`scan(limit:)`) returns at most `limit` entries and
/// the next pass goes on where it stopped (the directories stay open between passes), so the memory
/// of a pass does not grow with the inbox — a burst of 100,000 files is met 4,096 at a time. A
/// pass that reaches the end of the walk ends the cycle; the next one starts again from the top.
/// Names come in directory order (each pass's entries sorted by path); a file added or removed
/// during a cycle may or may not be met in it (readdir's rule) and is met in the next.
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

    /// `tooDeep`: a directory deeper than `maxDepth` under the inbox, not walked.
    enum Kind: Sendable { case file, symlink, other, tooDeep }

    /// The deepest directory walked (the inbox is level 0; its streams level 1): each level holds a
    /// directory stream open, so the depth a local writer can create is not what bounds it.
    static let maxDepth = 32

    /// What one pass of the walk met, and whether it reached the end of the inbox (the cycle ended).
    struct Pass: Sendable {
        var entries: [Entry]
        var cycleEnded: Bool
    }

    /// The directories open on the way down (innermost last) between passes. A class: the watcher
    /// is a value moved to a blocking thread and back for each pass; the open streams go with it.
    private final class Walk: @unchecked Sendable {
        struct Level {
            let dir: OpaquePointer
            let path: String
            /// nil at the inbox's top level; a directory there names the stream.
            let stream: String?
            let prefix: String
        }
        var levels: [Level] = []

        func closeAll() {
            for l in levels { closedir(l.dir) }
            levels = []
        }

        deinit { closeAll() }
    }

    let inbox: String
    let defaultStream: String
    private var inotifyFD: Int32 = -1
    private var watches: [Int32: String] = [:]
    private var watched: Set<String> = []
    /// A directory of the current or last cycle could not be watched.
    private var missedWatch = false
    private let walk = Walk()

    init(inbox: String, defaultStream: String, useInotify: Bool) {
        self.inbox = inbox
        self.defaultStream = defaultStream
        if useInotify { inotifyFD = tributary_inotify_init() }
    }

    var usesInotify: Bool { inotifyFD >= 0 }

    func close() {
        walk.closeAll()
        if inotifyFD >= 0 { Glibc.close(inotifyFD) }
    }

    /// Every non-hidden entry under the inbox (directories are walked, never returned): one whole
    /// cycle, from the top.
    mutating func scan() -> [Entry] {
        walk.closeAll()
        return scan(limit: .max).entries
    }

    /// The next at most `limit` (≥ 1) entries of the walk, going on from the last pass.
    /// One `lstat` per name: a directory is walked (never followed through a symlink), anything
    /// else becomes an entry. At the inbox's top level a directory names the stream and a file goes
    /// to the default stream.
    mutating func scan(limit: Int) -> Pass {
        if walk.levels.isEmpty {
            // A new cycle.
            missedWatch = false
            watch(inbox)
            guard descend(inbox, stream: nil, prefix: "") else { return Pass(entries: [], cycleEnded: true) }
        }
        var out: [Entry] = []
        while out.count < max(1, limit), let top = walk.levels.last {
            guard let ent = readdir(top.dir) else {
                closedir(top.dir)
                walk.levels.removeLast()
                continue
            }
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.isEmpty || name.hasPrefix(".") { continue }  // also "." and ".."
            let path = top.path + "/" + name
            var st = stat()
            let found = lstat(path, &st) == 0
            if found && (st.st_mode & S_IFMT) == S_IFDIR {
                if walk.levels.count > Self.maxDepth {
                    out.append(Entry(path: path, stream: top.stream ?? defaultStream, name: top.prefix + name, kind: .tooDeep, observation: nil))
                } else if let stream = top.stream {
                    _ = descend(path, stream: stream, prefix: top.prefix + name + "/")
                } else {
                    _ = descend(path, stream: name, prefix: "")
                }
            } else {
                out.append(entry(path, stream: top.stream ?? defaultStream, name: top.prefix + name, stat: found ? st : nil))
            }
        }
        out.sort { $0.path < $1.path }
        return Pass(entries: out, cycleEnded: walk.levels.isEmpty)
    }

    /// Opens `dir` as the next level of the walk (watching it); false when it cannot be opened
    /// (gone, unreadable: nothing in it is met this cycle).
    private mutating func descend(_ dir: String, stream: String?, prefix: String) -> Bool {
        if stream != nil { watch(dir) }
        guard let d = opendir(dir) else { return false }
        walk.levels.append(Walk.Level(dir: d, path: dir, stream: stream, prefix: prefix))
        return true
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
