import Testing

@testable import TributaryCore

/// The decisions of part pipelining (`PartPipeline`), without I/O.
@Suite struct PartPipelineTests {
    static let mib: UInt64 = 1 << 20

    /// A 24 MiB object in 5 MiB parts (4 full, one of 4 MiB), its multipart upload created.
    func opened(limit: Int = 8, durable: UInt64 = 5 << 20) -> PartPipeline {
        var p = PartPipeline(limit: limit)
        #expect(p.received(upload: "u", key: "k", size: 24 << 20, partSize: 5 << 20, durable: durable) == [.create(upload: "u", key: "k")])
        return p
    }

    static func ship(_ part: Int, upload: String = "u", key: String = "k", id: String = "m1", size: UInt64 = 24 << 20) -> PartPipeline.Action {
        let offset = UInt64(part - 1) * (5 << 20)
        return .ship(upload: upload, key: key, uploadID: id, part: part, offset: offset, length: min(5 << 20, size - offset))
    }

    @Test("nothing starts before a whole part is durable, nor once all of it is")
    func threshold() {
        var p = PartPipeline(limit: 4)
        #expect(p.received(upload: "u", key: "k", size: 24 << 20, partSize: 5 << 20, durable: (5 << 20) - 1).isEmpty)
        #expect(p.received(upload: "u", key: "k", size: 24 << 20, partSize: 5 << 20, durable: 24 << 20).isEmpty)
        #expect(p.uploads.isEmpty)
        #expect(p.received(upload: "u", key: "k", size: 24 << 20, partSize: 5 << 20, durable: 5 << 20) == [.create(upload: "u", key: "k")])
    }

    @Test("only durable whole parts are shipped, in order, and the tail when all is durable")
    func durableParts() {
        var p = opened(durable: 11 << 20)
        #expect(p.created(upload: "u", uploadID: "m1") == [Self.ship(1), Self.ship(2)])
        #expect(p.received(upload: "u", key: "k", size: 24 << 20, partSize: 5 << 20, durable: 14 << 20).isEmpty, "part 3 ends at 15 MiB")
        #expect(p.received(upload: "u", key: "k", size: 24 << 20, partSize: 5 << 20, durable: 20 << 20) == [Self.ship(3), Self.ship(4)])
        #expect(p.partShipped(upload: "u", part: 1).isEmpty)
        #expect(p.received(upload: "u", key: "k", size: 24 << 20, partSize: 5 << 20, durable: 24 << 20) == [Self.ship(5)])
        #expect(Self.ship(5) == .ship(upload: "u", key: "k", uploadID: "m1", part: 5, offset: 20 << 20, length: 4 << 20))
    }

    @Test("the process-wide limit holds, shared fairly between uploads")
    func limit() {
        var p = PartPipeline(limit: 2)
        _ = p.received(upload: "a", key: "ka", size: 24 << 20, partSize: 5 << 20, durable: 20 << 20)
        _ = p.received(upload: "b", key: "kb", size: 24 << 20, partSize: 5 << 20, durable: 20 << 20)
        #expect(p.created(upload: "a", uploadID: "ma") == [Self.ship(1, upload: "a", key: "ka", id: "ma"), Self.ship(2, upload: "a", key: "ka", id: "ma")])
        #expect(p.created(upload: "b", uploadID: "mb").isEmpty, "the limit is taken")
        #expect(p.inFlight == 2)
        // A slot frees: the upload with fewer parts in flight gets it.
        #expect(p.partShipped(upload: "a", part: 1) == [Self.ship(1, upload: "b", key: "kb", id: "mb")])
        #expect(p.partShipped(upload: "a", part: 2) == [Self.ship(3, upload: "a", key: "ka", id: "ma")])
        #expect(p.inFlight == 2)
    }

    @Test("a second upload of the same key is not pipelined")
    func oneOwnerPerKey() {
        var p = opened()
        #expect(p.received(upload: "v", key: "k", size: 24 << 20, partSize: 5 << 20, durable: 10 << 20).isEmpty)
        #expect(p.owner(of: "k") == "u")
        #expect(p.uploads["v"] == nil)
    }

    @Test("the commit's takeover waits for the parts in flight, then the upload leaves")
    func takeOver() {
        var p = opened(durable: 10 << 20)
        _ = p.created(upload: "u", uploadID: "m1")
        #expect(p.takeOver(key: "k").isEmpty, "parts 1 and 2 are in flight")
        #expect(p.received(upload: "u", key: "k", size: 24 << 20, partSize: 5 << 20, durable: 20 << 20).isEmpty, "nothing more is shipped")
        #expect(p.partShipped(upload: "u", part: 1).isEmpty)
        #expect(p.partFailed(upload: "u", part: 2, gone: false) == [.release(key: "k")])
        #expect(p.uploads.isEmpty)
        #expect(p.owner(of: "k") == nil)
        #expect(p.takeOver(key: "other") == [.release(key: "other")], "a key nobody ships is released at once")
    }

    @Test("an ended upload aborts its multipart once nothing runs, or once its creation answers")
    func end() {
        var p = opened(durable: 5 << 20)
        _ = p.created(upload: "u", uploadID: "m1")
        #expect(p.end(upload: "u", reason: "duplicate").isEmpty, "part 1 is in flight")
        #expect(p.end(upload: "u", reason: "again").isEmpty, "ending twice is one end")
        #expect(p.partShipped(upload: "u", part: 1) == [.abort(upload: "u", key: "k", uploadID: "m1", reason: "duplicate")])
        #expect(p.uploads.isEmpty)

        var q = opened()
        #expect(q.end(upload: "u", reason: "expired").isEmpty, "the creation is still running")
        #expect(q.created(upload: "u", uploadID: "m2") == [.abort(upload: "u", key: "k", uploadID: "m2", reason: "expired")])

        var r = opened()
        #expect(r.end(upload: "u", reason: "rejected").isEmpty)
        #expect(r.createFailed(upload: "u") == [.abort(upload: "u", key: "k", uploadID: nil, reason: "rejected")])
        #expect(r.end(upload: "unknown", reason: "x").isEmpty)
    }

    @Test("parts recorded by a previous run are not shipped again")
    func adopted() {
        var p = opened(durable: 15 << 20)
        #expect(p.created(upload: "u", uploadID: "m1", done: [1, 2]) == [Self.ship(3)])
    }

    @Test("failures stop the pipeline without retrying forever; a vanished upload stops it at once")
    func failures() {
        var p = PartPipeline(limit: 1, maxFailures: 2)
        _ = p.received(upload: "u", key: "k", size: 24 << 20, partSize: 5 << 20, durable: 20 << 20)
        #expect(p.created(upload: "u", uploadID: "m1") == [Self.ship(1)])
        #expect(p.partFailed(upload: "u", part: 1, gone: false) == [Self.ship(1)], "retried while under the limit of failures")
        #expect(p.partFailed(upload: "u", part: 1, gone: false).isEmpty, "stopped")
        #expect(p.uploads["u"]?.phase == .stopped(uploadID: "m1"))
        #expect(p.received(upload: "u", key: "k", size: 24 << 20, partSize: 5 << 20, durable: 24 << 20).isEmpty)
        #expect(p.end(upload: "u", reason: "expired") == [.abort(upload: "u", key: "k", uploadID: "m1", reason: "expired")])

        var q = PartPipeline(limit: 1)
        _ = q.received(upload: "u", key: "k", size: 24 << 20, partSize: 5 << 20, durable: 20 << 20)
        _ = q.created(upload: "u", uploadID: "m1")
        #expect(q.partFailed(upload: "u", part: 1, gone: true).isEmpty)
        #expect(q.takeOver(key: "k") == [.release(key: "k")])
    }

    @Test("an object of exactly whole parts has no short tail")
    func exactParts() {
        var p = PartPipeline(limit: 8)
        _ = p.received(upload: "u", key: "k", size: 10 << 20, partSize: 5 << 20, durable: 5 << 20)
        #expect(p.created(upload: "u", uploadID: "m") == [.ship(upload: "u", key: "k", uploadID: "m", part: 1, offset: 0, length: 5 << 20)])
        #expect(p.received(upload: "u", key: "k", size: 10 << 20, partSize: 5 << 20, durable: 10 << 20)
            == [.ship(upload: "u", key: "k", uploadID: "m", part: 2, offset: 5 << 20, length: 5 << 20)])
        #expect(p.uploads["u"]?.partCount == 2)
    }
}
