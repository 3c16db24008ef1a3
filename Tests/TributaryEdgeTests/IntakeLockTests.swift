import Foundation
import Logging
import Testing
import TributaryTestKit
@testable import TributaryEdge

/// The `put` vs agent-start race (issue 13): a copy `put` has written to objects/ but not yet
/// journaled must not be removed as a crash leftover by an agent starting meanwhile.
@Suite struct IntakeLockTests {
    @Test func theStartUpCleanUpWaitsForAnIntakeInProgress() throws {
        let dir = try TemporaryDirectory()
        let spool = try SpoolIntake(directory: dir.root, logger: Logger(label: "test"))
        let copy = dir.path("objects/copy-of-a-put-in-progress")
        try Data("bytes".utf8).write(to: URL(fileURLWithPath: copy))
        // What `put` holds from its first copy to its commit (another open file description,
        // as in another process).
        var inProgress = try IntakeLock(spool: dir.root, exclusive: false)
        #expect(inProgress != nil)
        #expect(try spool.removeLeftovers(wait: false) == false)
        #expect(FileManager.default.fileExists(atPath: copy), "the clean-up removed a copy a put was about to journal")
        // Another taker may run beside it (shared).
        #expect(try IntakeLock(spool: dir.root, exclusive: false, wait: false) != nil)
        inProgress = nil
        // The put died (or committed without this file): now it is a leftover and goes.
        #expect(try spool.removeLeftovers(wait: false) == true)
        #expect(!FileManager.default.fileExists(atPath: copy))
    }

    @Test func anIntakeWaitsWhileTheCleanUpRuns() throws {
        let dir = try TemporaryDirectory()
        _ = try SpoolIntake(directory: dir.root, logger: Logger(label: "test"))
        let cleanUp = try IntakeLock(spool: dir.root, exclusive: true)
        #expect(cleanUp != nil)
        #expect(try IntakeLock(spool: dir.root, exclusive: false, wait: false) == nil)
        withExtendedLifetime(cleanUp) {}
    }
}
