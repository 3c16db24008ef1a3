import Foundation
import Glibc
import Testing
import TributaryTestKit
@testable import TributaryEdge

/// The streamed scan: each pass meets at most `limit` entries and the next goes on where it
/// stopped; a cycle meets every file once, and the next cycle starts over from the top.
@Suite struct InboxWatcherPassTests {
    private func makeInbox(_ dir: TemporaryDirectory, files: [String]) throws -> String {
        let inbox = dir.path("inbox")
        for f in files {
            let path = inbox + "/" + f
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
        }
        return inbox
    }

    @Test func passesAreBoundedAndACycleMeetsEveryFileOnce() throws {
        let dir = try TemporaryDirectory()
        var files = (0..<23).map { "s\($0 % 3)/f\($0).csv" }
        files.append("top.csv")
        files.append("s1/deeper/g.csv")
        let inbox = try makeInbox(dir, files: files)
        var watcher = InboxWatcher(inbox: inbox, defaultStream: "default", useInotify: false)
        defer { watcher.close() }
        var met: [String] = []
        var passes = 0
        while true {
            let pass = watcher.scan(limit: 4)
            passes += 1
            #expect(pass.entries.count <= 4)
            met += pass.entries.map { "\($0.stream)|\($0.name)" }
            if pass.cycleEnded { break }
            #expect(passes < 100, "a cycle ends")
        }
        let expected = files.map { f -> String in
            let parts = f.split(separator: "/", maxSplits: 1).map(String.init)
            return parts.count == 1 ? "default|\(f)" : "\(parts[0])|\(parts[1])"
        }
        #expect(met.sorted() == expected.sorted(), "every file once, none twice")
        #expect(passes >= 7, "25 files, at most 4 a pass")
        // The next cycle starts over from the top.
        let again = watcher.scan(limit: 100)
        #expect(again.cycleEnded)
        #expect(again.entries.count == files.count)
    }

    @Test func filesRemovedBehindTheCursorAreNotMetAgainAndTheRestAreMetOnce() throws {
        let dir = try TemporaryDirectory()
        let files = (0..<40).map { "s/f\($0).csv" }
        let inbox = try makeInbox(dir, files: files)
        var watcher = InboxWatcher(inbox: inbox, defaultStream: "default", useInotify: false)
        defer { watcher.close() }
        var met = Set<String>()
        var cycleEnded = false
        while !cycleEnded {
            let pass = watcher.scan(limit: 5)
            for e in pass.entries {
                #expect(!met.contains(e.path), "met once in a cycle")
                met.insert(e.path)
                #expect(unlink(e.path) == 0)  // taken, as intake does between passes
            }
            cycleEnded = pass.cycleEnded
        }
        #expect(met.count == 40)
        #expect(watcher.scan(limit: 5).entries.isEmpty)
    }

    @Test func aDirectoryNestedTooDeepIsReportedNotWalked() throws {
        let dir = try TemporaryDirectory()
        let deep = (0...InboxWatcher.maxDepth).map { "d\($0)" }.joined(separator: "/")
        let inbox = try makeInbox(dir, files: ["s/\(deep)/f.csv", "s/ok.csv"])
        var watcher = InboxWatcher(inbox: inbox, defaultStream: "default", useInotify: false)
        defer { watcher.close() }
        let entries = watcher.scan()
        #expect(entries.filter { $0.kind == .file }.map(\.name) == ["ok.csv"])
        let refused = entries.filter { $0.kind == .tooDeep }
        #expect(refused.count == 1)
        #expect(refused.first.map { $0.name.split(separator: "/").count } == InboxWatcher.maxDepth)
    }
}
