import Foundation
import Testing
import TributaryCore

@Suite("UploadStateMachine")
struct UploadStateMachineTests {
    static let t0 = Date(timeIntervalSince1970: 1_795_255_200)
    static let expires = t0.addingTimeInterval(3600)

    func machine(length: UInt64 = 100, offset: UInt64 = 0, committed: Bool = false) -> UploadStateMachine {
        UploadStateMachine(length: length, offset: offset, committed: committed, expiresAt: Self.expires)
    }

    @Test("initial state from length, offset and committed")
    func initial() {
        #expect(machine().state == .receiving(offset: 0))
        #expect(machine(offset: 40).state == .receiving(offset: 40))
        #expect(machine(offset: 40).offset == 40)
        #expect(machine(offset: 100).state == .complete)
        #expect(machine(length: 0).state == .complete)
        #expect(machine(committed: true).state == .committed)
        #expect(machine(committed: true).offset == 100)
        #expect(!machine().busy)
    }

    @Test("receiving: chunks advance the offset, the last one asks for the commit")
    func receiveToCommit() {
        var m = machine()
        #expect(m.patch(offset: 0, bodyLength: 30, now: Self.t0) == .receive(offset: 0, room: 100))
        #expect(m.busy)
        #expect(m.chunkStored(count: 30) == .persist(offset: 30))
        #expect(m.state == .receiving(offset: 30))
        #expect(!m.busy)

        // Without Content-Length (chunked body) the room still bounds what is accepted.
        #expect(m.patch(offset: 30, bodyLength: nil, now: Self.t0) == .receive(offset: 30, room: 70))
        #expect(m.chunkStored(count: 70) == .persistAndCommit(offset: 100))
        #expect(m.state == .complete)
        #expect(m.busy, "the request that completed the upload runs the commit")
        #expect(m.offset == 100)

        m.commitFinished(.committed)
        #expect(m.state == .committed)
        #expect(!m.busy)
    }

    @Test("a PATCH at another offset than the durable one")
    func offsetMismatch() {
        var m = machine(offset: 40)
        #expect(m.patch(offset: 0, bodyLength: 10, now: Self.t0) == .reject(.offsetMismatch(expected: 40)))
        #expect(m.patch(offset: 41, bodyLength: 10, now: Self.t0) == .reject(.offsetMismatch(expected: 40)))
        #expect(!m.busy)
        #expect(m.state == .receiving(offset: 40))
    }

    @Test("a second PATCH while one is running is busy")
    func busy() {
        var m = machine()
        #expect(m.patch(offset: 0, bodyLength: 10, now: Self.t0) == .receive(offset: 0, room: 100))
        #expect(m.patch(offset: 0, bodyLength: 10, now: Self.t0) == .reject(.busy))
        #expect(m.chunkStored(count: 10) == .persist(offset: 10))
        #expect(m.patch(offset: 10, bodyLength: 10, now: Self.t0) == .receive(offset: 10, room: 90))
    }

    @Test("busy while the completing request commits")
    func busyWhileCommitting() {
        var m = machine()
        _ = m.patch(offset: 0, bodyLength: 100, now: Self.t0)
        #expect(m.chunkStored(count: 100) == .persistAndCommit(offset: 100))
        #expect(m.patch(offset: 100, bodyLength: 0, now: Self.t0) == .reject(.busy))
    }

    @Test("a Content-Length past Upload-Length is too large")
    func tooLarge() {
        var m = machine(offset: 60)
        #expect(m.patch(offset: 60, bodyLength: 41, now: Self.t0) == .reject(.tooLarge(room: 40)))
        #expect(!m.busy)
        #expect(m.patch(offset: 60, bodyLength: 40, now: Self.t0) == .receive(offset: 60, room: 40))
    }

    @Test("a discarded chunk frees the upload and keeps the offset")
    func discarded() {
        var m = machine(offset: 10)
        _ = m.patch(offset: 10, bodyLength: 20, now: Self.t0)
        m.chunkDiscarded()
        #expect(!m.busy)
        #expect(m.state == .receiving(offset: 10))
        #expect(m.patch(offset: 10, bodyLength: 20, now: Self.t0) == .receive(offset: 10, room: 90))
    }

    @Test("expired: receiving and complete uploads refuse PATCH at and after expiresAt")
    func expired() {
        var m = machine(offset: 10)
        #expect(!m.isExpired(now: Self.expires.addingTimeInterval(-1)))
        #expect(m.isExpired(now: Self.expires))
        #expect(m.patch(offset: 10, bodyLength: 1, now: Self.expires) == .reject(.expired))
        #expect(m.patch(offset: 0, bodyLength: 1, now: Self.expires.addingTimeInterval(1)) == .reject(.expired))

        var c = machine(offset: 100)
        #expect(c.patch(offset: 100, bodyLength: 0, now: Self.expires) == .reject(.expired))

        let committed = machine(committed: true)
        #expect(!committed.isExpired(now: Self.expires.addingTimeInterval(1e6)), "a committed upload never expires")
    }

    @Test("committed: an empty PATCH at the length is answered again; anything else is an offset mismatch")
    func committedIdempotent() {
        var m = machine(committed: true)
        #expect(m.patch(offset: 100, bodyLength: 0, now: Self.t0) == .alreadyCommitted)
        #expect(m.patch(offset: 100, bodyLength: nil, now: Self.t0) == .alreadyCommitted)
        #expect(m.patch(offset: 100, bodyLength: 0, now: Self.t0) == .alreadyCommitted, "and again")
        #expect(!m.busy)
        #expect(m.patch(offset: 100, bodyLength: 5, now: Self.t0) == .reject(.offsetMismatch(expected: 100)))
        #expect(m.patch(offset: 50, bodyLength: 0, now: Self.t0) == .reject(.offsetMismatch(expected: 100)))
        #expect(m.patch(offset: 100, bodyLength: 0, now: Self.expires.addingTimeInterval(10)) == .alreadyCommitted)
    }

    @Test("complete (not committed): an empty PATCH at the length runs the commit")
    func completeToCommit() {
        var m = machine(offset: 100)
        #expect(m.patch(offset: 100, bodyLength: 0, now: Self.t0) == .commit)
        #expect(m.busy)
        m.commitFinished(.committed)
        #expect(m.state == .committed)
    }

    @Test("complete: a body or another offset is refused")
    func completeRejections() {
        var m = machine(offset: 100)
        #expect(m.patch(offset: 100, bodyLength: 1, now: Self.t0) == .reject(.tooLarge(room: 0)))
        #expect(m.patch(offset: 99, bodyLength: 0, now: Self.t0) == .reject(.offsetMismatch(expected: 100)))
        #expect(!m.busy)
    }

    @Test("a failed (transient) commit goes back to complete and can be retried")
    func commitFailedRetry() {
        var m = machine()
        _ = m.patch(offset: 0, bodyLength: 100, now: Self.t0)
        _ = m.chunkStored(count: 100)
        m.commitFinished(.failed)
        #expect(m.state == .complete)
        #expect(!m.busy)
        #expect(m.patch(offset: 100, bodyLength: 0, now: Self.t0) == .commit)
        m.commitFinished(.committed)
        #expect(m.state == .committed)
    }

    @Test("a rejected commit makes the upload gone")
    func rejectedGone() {
        var m = machine(offset: 100)
        _ = m.patch(offset: 100, bodyLength: 0, now: Self.t0)
        m.commitFinished(.rejected)
        #expect(m.state == .gone)
        #expect(!m.busy)
        #expect(m.patch(offset: 100, bodyLength: 0, now: Self.t0) == .reject(.gone))
        #expect(m.patch(offset: 0, bodyLength: 1, now: Self.expires.addingTimeInterval(1)) == .reject(.gone), "gone wins over expired")
        #expect(!m.isExpired(now: Self.expires.addingTimeInterval(1)))
    }

    @Test("terminate: receiving and complete uploads go; a committed one stays; a busy one is refused")
    func terminate() {
        var r = machine(offset: 10)
        let r1 = r.terminate()
        #expect(r1 == .remove)
        #expect(r.state == .gone)
        #expect(r.patch(offset: 10, bodyLength: 1, now: Self.t0) == .reject(.gone))
        let r2 = r.terminate()
        #expect(r2 == .reject(.gone))

        var c = machine(offset: 100)
        let r3 = c.terminate()
        #expect(r3 == .remove)
        #expect(c.state == .gone)

        var committed = machine(committed: true)
        let r4 = committed.terminate()
        #expect(r4 == .alreadyCommitted)
        #expect(committed.state == .committed)
        #expect(committed.patch(offset: 100, bodyLength: 0, now: Self.t0) == .alreadyCommitted)

        var busy = machine(offset: 10)
        _ = busy.patch(offset: 10, bodyLength: 5, now: Self.t0)
        let r5 = busy.terminate()
        #expect(r5 == .reject(.busy))
        #expect(busy.state == .receiving(offset: 10))
    }

    @Test("sweep: only an expired upload no request works on goes")
    func sweep() {
        var fresh = machine(offset: 10)
        let r6 = fresh.sweep(now: Self.t0)
        #expect(!r6)
        #expect(fresh.state == .receiving(offset: 10))

        var expired = machine(offset: 10)
        let r7 = expired.sweep(now: Self.expires)
        #expect(r7)
        #expect(expired.state == .gone)

        var busy = machine(offset: 10)
        _ = busy.patch(offset: 10, bodyLength: 5, now: Self.t0)
        let r8 = busy.sweep(now: Self.expires.addingTimeInterval(1))
        #expect(!r8)

        var committed = machine(committed: true)
        let r9 = committed.sweep(now: Self.expires.addingTimeInterval(1))
        #expect(!r9)
        #expect(committed.state == .committed)
    }

    @Test("recover: a complete upload commits at start-up whatever its expiry; others do not")
    func recover() {
        var complete = machine(offset: 100)
        let r10 = complete.recover()
        #expect(r10)
        #expect(complete.busy)
        let r11 = complete.recover()
        #expect(!r11, "a commit already running is not started twice")
        let again = complete.patch(offset: 100, bodyLength: 0, now: Self.t0)
        #expect(again == .reject(.busy))
        complete.commitFinished(.committed)
        #expect(complete.state == .committed)

        var receiving = machine(offset: 10)
        let r12 = receiving.recover()
        #expect(!r12)
        var committed = machine(committed: true)
        let r13 = committed.recover()
        #expect(!r13)
    }

    @Test("a committed upload known only from the catalog answers PATCH by the same rule as the machine")
    func patchCommitted() {
        #expect(UploadStateMachine.patchCommitted(length: 100, offset: 100, bodyLength: 0) == .alreadyCommitted)
        #expect(UploadStateMachine.patchCommitted(length: 100, offset: 100, bodyLength: nil) == .alreadyCommitted)
        #expect(UploadStateMachine.patchCommitted(length: 100, offset: 40, bodyLength: 0) == .reject(.offsetMismatch(expected: 100)))
        #expect(UploadStateMachine.patchCommitted(length: 100, offset: 100, bodyLength: 3) == .reject(.offsetMismatch(expected: 100)))
        var m = machine(committed: true)
        for (offset, body) in [(UInt64(100), UInt64?(0)), (40, 0), (100, 3)] {
            let action = m.patch(offset: offset, bodyLength: body, now: Self.t0)
            #expect(action == UploadStateMachine.patchCommitted(length: 100, offset: offset, bodyLength: body))
        }
    }

    @Test("a zero-length upload is complete at creation and commits on an empty PATCH at 0")
    func zeroLength() {
        var m = machine(length: 0)
        #expect(m.patch(offset: 0, bodyLength: 0, now: Self.t0) == .commit)
    }
}
