import Dispatch
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
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: TributaryError.self) {
            try await Deadline.run(seconds: 0.2, "catalog (test)") { () async throws -> Int in
                // Waits on regardless of cancellation (and without holding a thread), like a query
                // stuck on a silent server.
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 3) { c.resume() }
                }
                return 1
            }
        }
        #expect(error?.code == .io)
        #expect(error?.message.contains("catalog (test) did not answer within 0.2 s") == true)
        #expect(start.duration(to: clock.now) < .seconds(2), "the caller is not held by the stuck operation")
    }
}
