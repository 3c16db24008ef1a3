import Foundation
import Testing
import TributaryProtocol
import TributaryTestKit
@testable import TributaryEdge

@Suite struct DictionaryPolicyTests {
    var policy: DictionaryPolicy {
        var c = EdgeConfiguration()
        c.dictionaryBytes = 16 << 10
        c.dictionarySampleBytes = 64 << 10
        c.dictionarySampleObjectBytes = 4 << 10
        c.dictionaryRetrainObjects = 500
        return DictionaryPolicy(configuration: c)
    }

    @Test func samplesUntilFullThenTrains() {
        var s = DictionaryPolicy.Stream()
        #expect(policy.wantsSample(s, sampling: 0))
        #expect(!policy.shouldTrain(s))
        s.sampleBytes = 64 << 10
        s.samples = 10
        #expect(!policy.wantsSample(s, sampling: 0))
        #expect(!policy.shouldTrain(s), "fewer than minSamples objects")
        s.samples = DictionaryPolicy.minSamples
        #expect(policy.shouldTrain(s))
    }

    @Test func retrainsAfterRetrainObjectsAndNeverWhenZero() {
        var s = DictionaryPolicy.Stream()
        s.hasDictionary = true
        s.objectsSince = 499
        #expect(!policy.wantsSample(s, sampling: 0))
        s.objectsSince = 500
        #expect(policy.wantsSample(s, sampling: 0))
        var p = policy
        p.retrainObjects = 0
        #expect(!p.wantsSample(s, sampling: 0))
    }

    @Test func onlySmallSegmentsUseADictionary() {
        #expect(policy.usesDictionary(segmentBytes: DictionaryPolicy.maxSegmentBytes))
        #expect(!policy.usesDictionary(segmentBytes: DictionaryPolicy.maxSegmentBytes + 1))
        var off = policy
        off.capacity = 0
        #expect(!off.usesDictionary(segmentBytes: 10))
    }

    @Test func boundedSamplingStreamsAndCooldownAfterAFailedTraining() {
        let s = DictionaryPolicy.Stream()
        #expect(!policy.wantsSample(s, sampling: DictionaryPolicy.maxSamplingStreams))
        var started = s
        started.samples = 1
        started.sampleBytes = 100
        #expect(policy.wantsSample(started, sampling: DictionaryPolicy.maxSamplingStreams), "a stream already sampling goes on")
        var failed = s
        failed.lastTrainingFailed = true
        failed.objectsSince = policy.cooldownObjects - 1
        #expect(!policy.wantsSample(failed, sampling: 0))
        failed.objectsSince = policy.cooldownObjects
        #expect(policy.wantsSample(failed, sampling: 0))
        var off = policy
        off.capacity = 0
        #expect(!off.wantsSample(s, sampling: 0))
    }
}

@Suite struct StreamDictionariesTests {
    func object(_ stream: String, _ size: UInt64) -> SpoolObject {
        SpoolObject(id: 1, stream: stream, name: "n", size: size, sha256: String(repeating: "0", count: 64), capturedAt: "2026-11-21T09:00:00.000Z",
                    acceptedAt: "2026-11-21T09:00:00.000Z", priority: 0, file: "objects/1", compressible: true, batchID: nil)
    }

    @Test func trainsPersistsFindsByFrameIDAfterRestartAndPrunes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dict-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = EdgeConfiguration()
        c.dictionarySampleBytes = 32 << 10
        let d = StreamDictionaries(spoolDirectory: dir, policy: DictionaryPolicy(configuration: c))
        #expect(d.forSegment([object("weather", 10)]) == nil)
        var i = 0
        while d.policy.wantsSample(DictionaryPolicy.Stream(sampleBytes: 0), sampling: 0) && i < 400 {
            let f = SensorCSV.file(station: i % 7, lines: 24, seed: UInt64(i))
            f.withUnsafeBytes { d.offer(stream: "weather", $0) }
            i += 1
            if try d.trainDue() == ["weather"] { break }
        }
        let current = try #require(d.forSegment([object("weather", 10), object("other", 5)]))
        #expect(d.forSegment([object("weather", 1), object("other", 50)]) == nil, "the stream with most bytes decides")
        #expect(d.forSegment([object("weather", DictionaryPolicy.maxSegmentBytes + 1)]) == nil, "a large segment goes without")
        let file = dir + "/dictionaries/" + current.id + ".zdict"
        #expect(FileManager.default.fileExists(atPath: file))

        // A new process finds it by the zstd ID a segment's frame records.
        let again = StreamDictionaries(spoolDirectory: dir, policy: DictionaryPolicy(configuration: c))
        #expect(again.dictionary(zstdID: current.zstdID) == current)
        #expect(again.dictionary(zstdID: current.zstdID &+ 1) == nil)
        // It is no stream's current dictionary in the new process: pruned once no batch is built.
        again.pruneStale()
        #expect(!FileManager.default.fileExists(atPath: file))
        // The first process keeps its current one.
        d.pruneStale()
        #expect(d.forSegment([object("weather", 10)]) == current)
    }
}

extension DictionaryPolicy.Stream {
    init(sampleBytes: Int) {
        self.init()
        self.sampleBytes = sampleBytes
    }
}
