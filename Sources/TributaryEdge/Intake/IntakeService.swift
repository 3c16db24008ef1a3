#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import ServiceLifecycle
import TributaryCurl
import TributaryDelivery
import TributaryFiles
import TributaryProtocol

/// Watches the inbox and takes complete files into the spool, in groups (one syncfs and one
/// journal transaction per group), then removes them from the inbox (policy `delete`).
///
/// Files it cannot take stay in the inbox with one log line per file and reason (not one per
/// scan): symlinks (never followed), non-regular files, unreadable files (retried, in case the
/// permissions get fixed), invalid names, files that change while being copied (retried once they
/// settle). With policy `block` a full spool leaves files waiting in the inbox.
public final class IntakeService: Service, @unchecked Sendable {
    let context: AgentContext
    var configuration: EdgeConfiguration { context.configuration }
    var spool: SpoolIntake { context.spool }
    var logger: Logger { context.logger }
    var clock: any ServiceClock { context.clock }
    /// Signalled when objects were accepted (the batcher waits on it).
    let accepted: Wakeup
    /// Files per group commit, and bytes.
    static let groupObjects = 256
    static let groupBytes: UInt64 = 256 << 20
    /// Inbox entries met in one pass of the (streamed) scan: the pass's memory, whatever the
    /// inbox holds; its ready files make up to 16 groups.
    static let entriesPerPass = 16 * groupObjects

    public init(context: AgentContext, accepted: Wakeup) {
        self.context = context
        self.accepted = accepted
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await self.loop() }
    }

    /// What the intake loop keeps between passes. A class, so that the pass on its blocking thread
    /// mutates the one copy in place (a value captured there and handed back would be copied on
    /// write: the tracker and the warnings once per pass).
    private final class ScanState: @unchecked Sendable {
        var watcher: InboxWatcher
        var tracker: SettleTracker
        var warned: [String: String] = [:]

        init(watcher: InboxWatcher, tracker: SettleTracker) {
            self.watcher = watcher
            self.tracker = tracker
        }
    }

    private func loop() async throws {
        try FileIO.makeDirectories(configuration.inboxDirectory)
        // Touched by one thread at a time: this task, or the blocking pass it awaits.
        let state = ScanState(
            watcher: InboxWatcher(
                inbox: configuration.inboxDirectory, defaultStream: configuration.defaultStream, useInotify: configuration.useInotify),
            tracker: SettleTracker(settleSeconds: Double(configuration.settleMilliseconds) / 1000))
        defer { state.watcher.close() }
        logger.info("watching the inbox", metadata: [
            "inbox": "\(configuration.inboxDirectory)", "inotify": "\(state.watcher.usesInotify)", "policy": "\(configuration.inboxPolicy.rawValue)",
        ])
        var spoolFullLogged = false
        var lastTakenGC = 0.0
        var overflowed = false
        while !Task.isCancelled {
            // Renames reported since the last pass (a non-blocking read): such a file is taken at once.
            if state.watcher.usesInotify {
                let ev = state.watcher.drainEvents()
                for p in ev.movedIn { state.tracker.noteMovedIn(p) }
                if ev.overflowed { overflowed = true }
            }
            // The inbox walk and the journal look-ups block: they run on their own thread, not on
            // the cooperative pool.
            let scanned = try await BlockingThread.run { [self] in
                let r = self.collect(&state.watcher, &state.tracker, &state.warned)
                return (r.groups, r.blocked, r.now, r.cycleEnded)
            }
            let groups = scanned.0
            let blocked = scanned.1
            let now = scanned.2
            let cycleEnded = scanned.3
            if blocked && !spoolFullLogged {
                logger.warning("spool full (full_policy = block): files wait in the inbox until uploads free space")
                spoolFullLogged = true
            }
            var retrySoon = blocked
            var tookAny = false
            var full = false
            // One pass feeds several groups (each its own journal commit); the next pass goes on
            // where this one stopped, so a large burst is walked once, not once per group.
            for ready in groups {
                let outcome = await take(ready, tracker: &state.tracker, warned: &state.warned)
                if outcome.full {
                    if !spoolFullLogged { logger.warning("spool full (full_policy = block): files wait in the inbox until uploads free space", metadata: ["error": "\(outcome.message)"]) }
                    spoolFullLogged = true
                    retrySoon = true
                    full = true
                    break
                } else if outcome.accepted > 0 {
                    if spoolFullLogged { logger.info("spool has room again: taking inbox files") }
                    spoolFullLogged = false
                    accepted.signal()
                    tookAny = true
                }
                if outcome.retry { retrySoon = true }
                if Task.isCancelled { return }
            }
            // More may be ready right away, or not yet met in this cycle — unless the spool is full:
            // then wait (`poll_ms`) and go on from where this pass stopped.
            if tookAny || (!cycleEnded && !full) { continue }
            if now - lastTakenGC > 60 {
                lastTakenGC = now
                let journal = spool.journal
                _ = try? await BlockingThread.run { try journal.forgetTaken { path in !FileIO.exists(path) } }
            }
            // Wait for the next scan: an inotify event ends the wait at once (a thread of its own
            // blocks in poll(2), no polling loop); otherwise the time `InboxWatcher.rescanDelay` gives.
            let wait = InboxWatcher.rescanDelay(
                now: clock.now(), settles: state.tracker.nextSettle(after: clock.now()), watchesAll: state.watcher.watchesAll && !overflowed,
                retrySoon: retrySoon, pollMilliseconds: configuration.pollMilliseconds)
            overflowed = false
            guard state.watcher.usesInotify else {
                await clock.sleep(milliseconds: wait)
                continue
            }
            // The events themselves are read at the top of the next pass.
            _ = await ReadableWait.readable([state.watcher.eventFD], milliseconds: wait)
        }
    }

    /// One pass of the inbox scan (at most `entriesPerPass` entries, going on from the last pass):
    /// the files ready to take (settled, not taken before), in groups of at most `groupObjects`
    /// files and `groupBytes` bytes. At the end of a cycle (the walk reached the end of the inbox)
    /// the tracker and the warnings forget the paths that are gone. Blocking (directory walk, stat,
    /// journal look-ups).
    private func collect(_ watcher: inout InboxWatcher, _ tracker: inout SettleTracker, _ warned: inout [String: String])
        -> (groups: [[IntakeItem]], blocked: Bool, now: Double, cycleEnded: Bool)
    {
        let pass = watcher.scan(limit: Self.entriesPerPass)
        let now = clock.now()
        var groups: [[IntakeItem]] = []
        var ready: [IntakeItem] = []
        var readyBytes: UInt64 = 0
        // A full spool under `block` takes nothing: skip the per-file work until it has room.
        let policy = SpoolPolicy(configuration: configuration)
        let blocked = policy.full == .block
            && ((try? spool.journal.usage()).map { policy.takesNothing(.init(bytes: $0.bytes, objects: $0.objects)) } ?? false)
        for e in pass.entries where !blocked || e.kind != .file {
            switch e.kind {
            case .symlink:
                warnOnce(&warned, e.path, "refused: symbolic links in the inbox are not followed; move the file itself in")
                continue
            case .other:
                warnOnce(&warned, e.path, "refused: not a regular file")
                continue
            case .tooDeep:
                warnOnce(&warned, e.path, "refused: a directory nested more than \(InboxWatcher.maxDepth) levels deep; nothing in it is taken")
                continue
            case .file: break
            }
            guard let o = e.observation, tracker.observe(e.path, o, now: now) else { continue }
            let taken = TakenFile(path: e.path, size: o.size, mtimeNanoseconds: o.mtimeNanoseconds, inode: o.inode)
            if (try? spool.journal.wasTaken(taken)) == true {
                if configuration.inboxPolicy == .delete { removeSource(e.path) }
                continue
            }
            // Removed once accepted (policy `delete`): the spool may take the file itself (IntakeMethod).
            ready.append(IntakeItem(
                sourcePath: e.path, stream: e.stream, name: e.name, rememberSource: true,
                removesSource: configuration.inboxPolicy == .delete))
            readyBytes = readyBytes.addingReportingOverflow(o.size).partialValue
            if ready.count >= Self.groupObjects || readyBytes >= Self.groupBytes {
                groups.append(ready)
                ready = []
                readyBytes = 0
            }
        }
        if !ready.isEmpty { groups.append(ready) }
        // While blocked the pass met files without observing them: forget nothing.
        if pass.cycleEnded && !blocked {
            tracker.endCycle()
            warned = warned.filter { var st = stat(); return lstat($0.key, &st) == 0 }
        }
        return (groups, blocked, now, pass.cycleEnded)
    }

    private func take(_ items: [IntakeItem], tracker: inout SettleTracker, warned: inout [String: String]) async -> (accepted: Int, full: Bool, retry: Bool, message: String) {
        let spool = self.spool
        let configuration = self.configuration
        // Something to look at again soon (a file that changed while being copied, an error).
        var retry = false
        do {
            let now = clock.date
            let result = try await BlockingThread.run { try spool.ingest(items, configuration: configuration, now: now) }
            for r in result.refused {
                switch r.reason {
                case .vanished: logger.debug("inbox file vanished before it was taken", metadata: ["path": "\(Names.printable(r.item.sourcePath))"])
                case .changed:
                    logger.info("inbox file changed while being taken; will retry once it settles", metadata: ["path": "\(Names.printable(r.item.sourcePath))"])
                    tracker.forget(r.item.sourcePath)
                    retry = true
                default: warnOnce(&warned, r.item.sourcePath, r.message)
                }
            }
            for o in result.accepted {
                logger.debug("accepted", metadata: ["stream": "\(o.stream)", "name": "\(Names.printable(o.name))", "size": "\(o.size)", "sha256": "\(o.sha256)"])
            }
            if configuration.inboxPolicy == .delete {
                var dirs = Set<String>()
                for o in result.accepted {
                    guard let src = o.source?.path else { continue }
                    removeSource(src)
                    dirs.insert(FileIO.dirname(of: src))
                }
                for d in dirs { try? FileIO.fsyncDirectory(d) }
            }
            for o in result.accepted { if let p = o.source?.path { tracker.forget(p) } }
            if !result.accepted.isEmpty {
                logger.info("took \(result.accepted.count) file(s) into the spool", metadata: [
                    "bytes": "\(result.accepted.reduce(0) { $0 + $1.size })", "dropped": "\(result.dropped.count)",
                    "linked": "\(result.accepted.filter(\.linked).count)",
                ])
            }
            return (result.accepted.count, false, retry, "")
        } catch let full as SpoolFullError {
            // The group does not fit but the spool is not at its limit: take what fits, one by one,
            // so one file larger than the whole spool does not hold back the rest of its group.
            if items.count > 1 && full.reason != .atLimit {
                var total = 0
                for item in items {
                    let r = await take([item], tracker: &tracker, warned: &warned)
                    total += r.accepted
                    retry = retry || r.retry
                }
                return (total, total == 0, retry, "\(full)")
            }
            if full.reason == .largerThanSpool, let item = items.first {
                warnOnce(&warned, item.sourcePath, "refused: larger (\(full.needBytes) bytes) than the whole spool (max_spool_bytes = \(configuration.maxSpoolBytes)); it stays in the inbox")
            }
            return (0, true, false, "\(full)")
        } catch {
            logger.error("intake failed; will retry", metadata: ["error": "\(error)"])
            return (0, false, true, "\(error)")
        }
    }

    private func removeSource(_ path: String) {
        if unlink(path) != 0 && errno != ENOENT {
            logger.error("cannot remove a taken file from the inbox (it is safe in the spool and will not be taken twice)", metadata: [
                "path": "\(Names.printable(path))", "error": "\(String(cString: strerror(errno)))",
            ])
        }
    }

    private func warnOnce(_ warned: inout [String: String], _ path: String, _ message: String) {
        guard warned[path] != message else { return }
        warned[path] = message
        logger.warning("\(message)", metadata: ["path": "\(Names.printable(path))"])
    }
}
