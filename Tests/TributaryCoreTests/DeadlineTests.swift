import Dispatch
import Synchronization
import Testing
@testable import TributaryCore
import TributaryProtocol

/// `Deadline` bounds every call to a remote backend: a silent server must answer 503, not hang.
@Suite("Deadline")
struct DeadlineTests {
    @Test("an operation that finishes in time returns its value or its error")
    func inTime() async throws {
        #expect(try await Deadline.run(seconds: 5, "op") { 42 } == 42)
        await #expect(throws: SiteExistsError.self) {
            try await Deadline.run(seconds: 5, "op") { () async throws -> Int in throw SiteExistsError(site: "x") }
        }
    }

    @Test("an operation that ignores cancellation is abandoned at the deadline with an I/O error")
    func late() async throws {
        let finished = Atomic<Bool>(false)
        let error = await #expect(throws: TributaryError.self) {
            try await Deadline.run(seconds: 0.2, "catalog (test)") { () async throws -> Int in
                // Waits on regardless of cancellation (and without holding a thread), like a query
                // stuck on a silent server.
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 30) { c.resume() }
                }
                finished.store(true, ordering: .sequentiallyConsistent)
                return 1
            }
        }
        #expect(error?.code == .io)
        #expect(error?.message.contains("catalog (test) did not answer within 0.2 s") == true)
        // The caller got its answer while the stuck operation was still stuck (no timing bound:
        // the operation only ends after 30 s).
        #expect(finished.load(ordering: .sequentiallyConsistent) == false, "the caller was held by the stuck operation")
    }
}
