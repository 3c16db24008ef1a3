import Foundation
import Glibc
import Testing
import TributaryTestKit
@testable import TributaryEdge

/// What one scan of the inbox returns: streams from the first directory level, deeper levels in the
/// name, hidden names skipped, symlinks reported (never followed, even to a directory).
@Suite struct InboxWatcherScanTests {
    @Test func oneScanNamesStreamsAndNeverFollowsASymlink() throws {
        let dir = try TemporaryDirectory()
        let inbox = dir.path("inbox")
        for d in ["inbox/readings/2026/11", "inbox/.hidden", "elsewhere"] {
            try FileManager.default.createDirectory(atPath: dir.path(d), withIntermediateDirectories: true)
        }
        for f in ["inbox/top.csv", "inbox/readings/a.csv", "inbox/readings/2026/11/b.csv", "inbox/readings/.c.tmp",
                  "inbox/.hidden/d.csv", "elsewhere/secret.csv"] {
            #expect(FileManager.default.createFile(atPath: dir.path(f), contents: Data("x".utf8)))
        }
        #expect(symlink(dir.path("elsewhere"), dir.path("inbox/readings/linked-dir")) == 0)
        #expect(symlink(dir.path("elsewhere/secret.csv"), dir.path("inbox/linked-file")) == 0)

        var watcher = InboxWatcher(inbox: inbox, defaultStream: "default", useInotify: false)
        defer { watcher.close() }
        let entries = watcher.scan()
        let seen = entries.map { "\($0.stream)|\($0.name)|\($0.kind)" }.sorted()
        #expect(seen == [
            "default|linked-file|symlink",
            "default|top.csv|file",
            "readings|2026/11/b.csv|file",
            "readings|a.csv|file",
            "readings|linked-dir|symlink",
        ])
        #expect(entries.allSatisfy { $0.kind != .file || $0.observation?.size == 1 })
    }
}
