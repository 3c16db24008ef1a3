import Foundation
import Logging
import Testing
import TributaryProtocol
import TributaryTestKit
@testable import TributaryEdge

/// Intake by hard link (`IntakeMethod`): the rule, and what the spool does with real files.
@Suite struct SpoolIntakeLinkTests {
    @Test func theRuleLinksOnlyAFileThatIsRemovedAfterOnTheSameFilesystemWithNoOtherName() {
        #expect(IntakeMethod.choose(sourceRemovedAfter: true, sourceDevice: 7, spoolDevice: 7, links: 1) == .link)
        #expect(IntakeMethod.choose(sourceRemovedAfter: false, sourceDevice: 7, spoolDevice: 7, links: 1) == .copy, "inbox policy keep, put without --move")
        #expect(IntakeMethod.choose(sourceRemovedAfter: true, sourceDevice: 7, spoolDevice: 8, links: 1) == .copy, "another filesystem")
        #expect(IntakeMethod.choose(sourceRemovedAfter: true, sourceDevice: 7, spoolDevice: nil, links: 1) == .copy, "spool device unknown")
        #expect(IntakeMethod.choose(sourceRemovedAfter: true, sourceDevice: 7, spoolDevice: 7, links: 2) == .copy, "a second name could change it")
    }

    struct Fixture {
        let dir: TemporaryDirectory
        let c: EdgeConfiguration
        let spool: SpoolIntake

        init() throws {
            dir = try TemporaryDirectory()
            mkdir(dir.path("in"), 0o755)
            var c = EdgeConfiguration()
            c.spoolDirectory = dir.path("spool")
            self.c = c
            spool = try SpoolIntake(directory: c.spoolDirectory, logger: Logger(label: "test"))
        }

        func write(_ name: String, _ text: String) throws -> String {
            let p = dir.path("in/" + name)
            try Data(text.utf8).write(to: URL(fileURLWithPath: p))
            return p
        }

        func item(_ path: String, removes: Bool) -> IntakeItem {
            IntakeItem(sourcePath: path, stream: "s", name: String(path.split(separator: "/").last!), rememberSource: true, removesSource: removes)
        }

        func inode(_ path: String) -> UInt64? { TakenFile.of(path)?.inode }
        func read(_ path: String) throws -> String { String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self) }
    }

    @Test func aFileRemovedAfterIsTakenByLinkOthersAreCopiedAllHashedAndCounted() throws {
        let f = try Fixture()
        let linked = try f.write("a.csv", "t,v\n1,2\n")
        let kept = try f.write("b.csv", "t,v\n3,4\n")
        let twoNames = try f.write("c.csv", "t,v\n5,6\n")
        link(twoNames, f.dir.path("in/c-archive.csv"))
        let r = try f.spool.ingest(
            [f.item(linked, removes: true), f.item(kept, removes: false), f.item(twoNames, removes: true)], configuration: f.c)
        #expect(r.refused.isEmpty)
        #expect(r.accepted.map(\.name) == ["a.csv", "b.csv", "c.csv"])
        #expect(r.accepted.map(\.linked) == [true, false, false])
        let files = r.accepted.map { f.c.spoolDirectory + "/" + $0.file }
        #expect(f.inode(files[0]) == f.inode(linked), "the spool's object is the inbox file itself")
        #expect(f.inode(files[1]) != f.inode(kept) && f.inode(files[2]) != f.inode(twoNames))
        for (o, text) in zip(r.accepted, ["t,v\n1,2\n", "t,v\n3,4\n", "t,v\n5,6\n"]) {
            #expect(o.sha256 == StreamingDigest.sha256Hex(Array(text.utf8)))
            #expect(try f.read(f.c.spoolDirectory + "/" + o.file) == text)
        }
        // The source is remembered as taken (a crash before the caller removes it must not take it twice).
        #expect(try f.spool.journal.wasTaken(#require(TakenFile.of(linked))))
        #expect(try f.spool.journal.counters()["accepted_linked"] == 1)
        // Removing the inbox name (what the caller does after the commit) leaves the spool's bytes.
        unlink(linked)
        #expect(try f.read(files[0]) == "t,v\n1,2\n")
    }

    @Test func aLinkNeverJournaledIsRemovedAtStartUpAndTheSourceStaysWhole() throws {
        let f = try Fixture()
        let src = try f.write("a.csv", "t,v\n1,2\n")
        // What a crash between the link and the journal's commit leaves: a second, unnamed-by-the-journal name.
        #expect(link(src, f.c.spoolDirectory + "/objects/leftover") == 0)
        #expect(try f.spool.removeLeftovers(wait: false))
        #expect(!FileManager.default.fileExists(atPath: f.c.spoolDirectory + "/objects/leftover"))
        #expect(try f.read(src) == "t,v\n1,2\n")
        // Taken again, whole, by link (one name again).
        let r = try f.spool.ingest([f.item(src, removes: true)], configuration: f.c)
        #expect(r.accepted.map(\.linked) == [true])
    }

    @Test func aGroupThatIsNotAcceptedLeavesNoLinkBehind() throws {
        let f = try Fixture()
        var c = f.c
        c.maxSpoolBytes = 4
        c.fullPolicy = .block
        let src = try f.write("a.csv", "t,v\n1,2\n")
        #expect(throws: SpoolFullError.self) { try f.spool.ingest([f.item(src, removes: true)], configuration: c) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: c.spoolDirectory + "/objects").isEmpty)
        #expect(TakenFile.of(src).map { _ in true } == true)
        var st = stat()
        #expect(stat(src, &st) == 0 && st.st_nlink == 1)
    }
}
