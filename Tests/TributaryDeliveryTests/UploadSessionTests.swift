import Testing
import TributaryProtocol
@testable import TributaryDelivery

/// Every transition of `UploadSession`, without I/O: each test plays the core's answers.
@Suite struct UploadSessionTests {
    static let url = "http://core/v1/uploads/u1"
    static let receipt = CommitReceipt(uploadID: "u1", site: "s", kind: .segment, committedAt: "2026-01-01T00:00:00Z", objects: [])

    func session(size: UInt64 = 100, url: String? = nil, refusals: Int = 0, commitFailures: Int = 0, chunk: UInt64 = 40) -> UploadSession {
        UploadSession(
            size: size, uploadURL: url, creationRefusals: refusals, commitFailures: commitFailures,
            chunk: ChunkSizer(maximum: chunk, floor: 10, growAfter: 2))
    }

    func err(_ kind: UploadError.Kind, _ status: Int? = nil, code: String? = nil) -> UploadError {
        UploadError(kind: kind, status: status, code: code, message: "m")
    }

    func remote(_ offset: UInt64, _ length: UInt64 = 100, _ state: RemoteUpload.State = .receiving) -> RemoteUpload {
        RemoteUpload(offset: offset, length: length, state: state)
    }

    // MARK: Creation

    @Test func noURLCreatesThenJournalsTheURLBeforeTheFirstChunk() {
        var s = session()
        #expect(s.start() == [.create])
        #expect(s.state == .creating)
        #expect(s.next(.created(url: Self.url, committed: false)) == [.recordUpload(url: Self.url), .patch(url: Self.url, offset: 0, length: 40)])
        #expect(s.state == .sending(url: Self.url, offset: 0, length: 40))
    }

    @Test func aCreationCommittedAtOnceFetchesTheReceipt() {
        var s = session(size: 0)
        _ = s.start()
        #expect(s.next(.created(url: Self.url, committed: true)) == [.recordUpload(url: Self.url), .fetchReceipt(url: Self.url)])
        #expect(s.next(.receipt(Self.receipt)) == [.acknowledge(Self.receipt)])
        #expect(s.isFinished)
    }

    @Test func creationRefused400IsCountedAndRetriedUntilTheLimitThenQuarantined() {
        var s = session(refusals: 0)
        _ = s.start()
        let e = err(.rejected, 413)
        #expect(s.next(.failed(e)) == [.recordCreationRefusal, .retryLater(e, blame: .batch)])
        var last = session(refusals: 2)
        _ = last.start()
        let actions = last.next(.failed(e))
        #expect(actions.first == .recordCreationRefusal)
        guard case .release(.quarantine, let reason) = actions.last else { Issue.record("expected quarantine: \(actions)"); return }
        #expect(reason.contains("3 times"))
    }

    @Test func creationRefused422ReverifiesAndUnknownReferenceRequeues() {
        var a = session()
        _ = a.start()
        guard case .release(.reverify, _) = a.next(.failed(err(.rejected, 422))).first else { Issue.record("422"); return }
        var b = session()
        _ = b.start()
        guard case .release(.requeue, _) = b.next(.failed(err(.rejected, 422, code: "unknown_reference"))).first else { Issue.record("unknown_reference"); return }
        #expect(a.isFinished && b.isFinished)
    }

    @Test func creationTransientOrUnauthorizedBlamesTheLink() {
        for e in [err(.transient, 503), err(.transient), err(.unauthorized, 401), err(.gone, 404)] {
            var s = session()
            _ = s.start()
            #expect(s.next(.failed(e)) == [.retryLater(e, blame: .link)])
        }
    }

    // MARK: Resume

    @Test func aKnownURLIsResumedByHEADFromTheCoresOffset() {
        var s = session(url: Self.url)
        #expect(s.start() == [.head(url: Self.url)])
        #expect(s.state == .resuming(url: Self.url))
        #expect(s.next(.headed(remote(70))) == [.patch(url: Self.url, offset: 70, length: 30)])
    }

    @Test func aResumedUploadAlreadyCommittedOnlyFetchesTheReceipt() {
        var s = session(url: Self.url)
        _ = s.start()
        #expect(s.next(.headed(remote(100, 100, .committed))) == [.fetchReceipt(url: Self.url)])
    }

    @Test func goneAtResumeForgetsTheURLAndCreatesAgain() {
        var s = session(url: Self.url)
        _ = s.start()
        #expect(s.next(.failed(err(.gone, 410))) == [.recordUpload(url: nil), .create])
        #expect(s.state == .creating)
    }

    @Test func aLengthMismatchAtResumeCreatesAgain() {
        var s = session(url: Self.url)
        _ = s.start()
        #expect(s.next(.headed(remote(0, 999))) == [.recordUpload(url: nil), .create])
    }

    @Test func recreationIsBounded() {
        var s = session(url: Self.url)
        _ = s.start()
        _ = s.next(.failed(err(.gone, 404)))
        _ = s.next(.created(url: Self.url, committed: false))
        _ = s.next(.failed(err(.gone, 404)))  // PATCH: gone again
        _ = s.next(.created(url: Self.url, committed: false))
        let e = err(.gone, 404)
        #expect(s.next(.failed(e)) == [.retryLater(e, blame: .link)])
    }

    @Test func aFailedHEADBlamesTheLink() {
        var s = session(url: Self.url)
        _ = s.start()
        let e = err(.transient)
        #expect(s.next(.failed(e)) == [.retryLater(e, blame: .link)])
    }

    // MARK: Sending

    @Test func chunksFollowTheCoresOffsetToTheCommit() {
        var s = session()
        _ = s.start()
        _ = s.next(.created(url: Self.url, committed: false))
        #expect(s.next(.patched(offset: 40, committed: false)) == [.recordProgress(offset: 40, length: 40), .patch(url: Self.url, offset: 40, length: 40)])
        #expect(s.next(.patched(offset: 80, committed: false)) == [.recordProgress(offset: 80, length: 40), .patch(url: Self.url, offset: 80, length: 20)])
        #expect(s.next(.patched(offset: 100, committed: true)) == [.recordProgress(offset: 100, length: 20), .fetchReceipt(url: Self.url)])
        #expect(s.next(.receipt(Self.receipt)) == [.acknowledge(Self.receipt)])
    }

    @Test func aReceiptWithTheCommittingPATCHIsAcknowledgedWithoutAGET() {
        var s = session()
        _ = s.start()
        _ = s.next(.created(url: Self.url, committed: false))
        _ = s.next(.patched(offset: 40, committed: false))
        _ = s.next(.patched(offset: 80, committed: false))
        #expect(s.next(.patched(offset: 100, committed: true, receipt: Self.receipt)) == [.recordProgress(offset: 100, length: 20), .acknowledge(Self.receipt)])
        #expect(s.isFinished)
    }

    @Test func allBytesSentButNotCommittedAsksHEADThenAnEmptyPATCH() {
        var s = session(size: 40)
        _ = s.start()
        _ = s.next(.created(url: Self.url, committed: false))
        #expect(s.next(.patched(offset: 40, committed: false)) == [.recordProgress(offset: 40, length: 40), .head(url: Self.url)])
        #expect(s.state == .verifying(url: Self.url))
        #expect(s.next(.headed(remote(40, 40, .complete))) == [.patch(url: Self.url, offset: 40, length: 0)])
        #expect(s.next(.patched(offset: 40, committed: true)) == [.recordProgress(offset: 40, length: 0), .fetchReceipt(url: Self.url)])
    }

    @Test func verifyingFindsItCommitted() {
        var s = session(size: 40)
        _ = s.start()
        _ = s.next(.created(url: Self.url, committed: false))
        _ = s.next(.patched(offset: 40, committed: false))
        #expect(s.next(.headed(remote(40, 40, .committed))) == [.fetchReceipt(url: Self.url)])
    }

    @Test func askingForTheCommitIsBounded() {
        var s = session(size: 40, url: Self.url)
        _ = s.start()
        for _ in 0..<2 {
            #expect(s.next(.headed(remote(40, 40, .complete))) == [.patch(url: Self.url, offset: 40, length: 0)])
            _ = s.next(.patched(offset: 40, committed: false))
        }
        guard case .retryLater(_, .batch) = s.next(.headed(remote(40, 40, .complete))).first else { Issue.record("expected retryLater"); return }
    }

    @Test func aDamagedChunkOrOffsetMismatchIsResentAfterHEADBounded() {
        for (e, counter) in [(err(.corrupted, 460), "chunks_resent_corrupt"), (err(.rejected, 400), "chunks_resent_corrupt"),
                             (err(.rejected, 415), "chunks_resent_corrupt"), (err(.offsetMismatch, 409), "offset_resyncs")] {
            var s = session()
            _ = s.start()
            _ = s.next(.created(url: Self.url, committed: false))
            for _ in 0..<8 {
                #expect(s.next(.failed(e)) == [.count(counter), .head(url: Self.url)])
                #expect(s.next(.headed(remote(0))) == [.patch(url: Self.url, offset: 0, length: 40)])
            }
            #expect(s.next(.failed(e)) == [.retryLater(e, blame: .link)])
        }
    }

    @Test func aPATCHThatMovesNothingResyncs() {
        var s = session()
        _ = s.start()
        _ = s.next(.created(url: Self.url, committed: false))
        #expect(s.next(.patched(offset: 0, committed: false)) == [.recordProgress(offset: 0, length: 40), .count("offset_resyncs"), .head(url: Self.url)])
    }

    @Test func aCutHalvesTheChunkAndBlamesTheLink() {
        var s = session(chunk: 40)
        _ = s.start()
        _ = s.next(.created(url: Self.url, committed: false))
        let e = err(.transient)  // no HTTP status: cut, stall, reset
        #expect(s.next(.failed(e)) == [.retryLater(e, blame: .link)])
        #expect(s.chunk.current == 20)
    }

    @Test func goneWhileSendingCreatesAgain() {
        var s = session()
        _ = s.start()
        _ = s.next(.created(url: Self.url, committed: false))
        #expect(s.next(.failed(err(.gone, 404))) == [.recordUpload(url: nil), .create])
    }

    @Test func refusalsAfterTheBytes() {
        func fail(_ e: UploadError) -> [UploadSession.Action] {
            var s = session(size: 40)
            _ = s.start()
            _ = s.next(.created(url: Self.url, committed: false))
            return s.next(.failed(e))
        }
        guard case .release(.reverify, _) = fail(err(.rejected, 422)).first else { Issue.record("422"); return }
        guard case .release(.quarantine, _) = fail(err(.rejected, 413)).first else { Issue.record("413"); return }
        guard case .release(.requeue, _) = fail(err(.rejected, 422, code: "unknown_reference")).first else { Issue.record("unknown_reference"); return }
    }

    @Test func anUploadTheCoreQuarantinedIsSetAsideWhereverItIsSaid() {
        let q = err(.rejected, 422, code: UploadError.quarantinedCode)
        // To the PATCH that completes it.
        var p = session(size: 40)
        _ = p.start()
        _ = p.next(.created(url: Self.url, committed: false))
        guard case .release(.quarantine, _) = p.next(.failed(q)).first else { Issue.record("PATCH"); return }
        // To the HEAD of a resumed upload (the code comes in Tributary-Error there).
        var h = session(url: Self.url)
        #expect(h.start() == [.head(url: Self.url)])
        guard case .release(.quarantine, _) = h.next(.failed(q)).first else { Issue.record("HEAD"); return }
        // Any other 422 to a HEAD is still a damaged request: the link is retried.
        var d = session(url: Self.url)
        _ = d.start()
        let other = err(.transient, 422)
        #expect(d.next(.failed(other)) == [.retryLater(other, blame: .link)])
    }

    @Test func a5xxToTheCommitIsCountedAndTheNthSetsTheBatchAside() {
        let e = err(.transient, 503)
        var s = session(size: 40)
        _ = s.start()
        _ = s.next(.created(url: Self.url, committed: false))
        #expect(s.next(.failed(e)) == [.recordCommitFailure, .retryLater(e, blame: .batch)])
        var last = session(size: 40, commitFailures: 4)
        _ = last.start()
        _ = last.next(.created(url: Self.url, committed: false))
        let actions = last.next(.failed(e))
        #expect(actions.first == .recordCommitFailure)
        guard case .release(.quarantine, let reason) = actions.last else { Issue.record("expected quarantine"); return }
        #expect(reason.contains("5 times"))
    }

    @Test func a5xxToAChunkBeforeTheLastBlamesTheLinkUncounted() {
        let e = err(.transient, 503)
        var s = session(size: 100)
        _ = s.start()
        _ = s.next(.created(url: Self.url, committed: false))
        #expect(s.next(.failed(e)) == [.retryLater(e, blame: .link)])
    }

    @Test func aFailedReceiptBlamesTheLinkAndAGoneOneCreatesAgain() {
        var s = session(url: Self.url)
        _ = s.start()
        _ = s.next(.headed(remote(100, 100, .committed)))
        let e = err(.transient)
        #expect(s.next(.failed(e)) == [.retryLater(e, blame: .link)])
        var g = session(url: Self.url)
        _ = g.start()
        _ = g.next(.headed(remote(100, 100, .committed)))
        #expect(g.next(.failed(err(.gone, 404))) == [.recordUpload(url: nil), .create])
    }

    @Test func theChunkGrowsBackWhileSending() {
        var s = UploadSession(size: 1000, uploadURL: Self.url, creationRefusals: 0, commitFailures: 0, chunk: {
            var c = ChunkSizer(maximum: 40, floor: 10, growAfter: 2)
            c.cut()
            return c
        }())
        _ = s.start()
        #expect(s.next(.headed(remote(0, 1000))) == [.patch(url: Self.url, offset: 0, length: 20)])
        _ = s.next(.patched(offset: 20, committed: false))
        #expect(s.next(.patched(offset: 40, committed: false)).last == .patch(url: Self.url, offset: 40, length: 40))
    }
}

@Suite struct ChunkSizerTests {
    @Test func halvesToTheFloorAndDoublesBackToTheMaximum() {
        var c = ChunkSizer(maximum: 2 << 20, floor: 32 << 10, growAfter: 4)
        #expect(c.current == 2 << 20)
        for _ in 0..<10 { c.cut() }
        #expect(c.current == 32 << 10)
        for _ in 0..<3 { c.succeeded(length: c.current) }
        #expect(c.current == 32 << 10)
        c.succeeded(length: c.current)
        #expect(c.current == 64 << 10 && c.streak == 0)
        for _ in 0..<40 { c.succeeded(length: c.current) }
        #expect(c.current == 2 << 20)
    }

    @Test func aCutResetsTheStreakAndShortChunksDoNotCount() {
        var c = ChunkSizer(maximum: 1024, floor: 64, growAfter: 2)
        c.cut()
        c.succeeded(length: 512)
        c.cut()
        #expect(c.current == 256 && c.streak == 0)
        c.succeeded(length: 100)  // a batch's short last chunk
        #expect(c.streak == 0)
    }

    @Test func aFloorAboveTheMaximumIsTheMaximum() {
        var c = ChunkSizer(maximum: 16 << 10, floor: 32 << 10)
        c.cut()
        #expect(c.current == 16 << 10)
    }
}
