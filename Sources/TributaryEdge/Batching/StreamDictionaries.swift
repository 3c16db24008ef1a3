#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TributaryFiles
import TributaryProtocol

/// When a stream's objects are sampled and its dictionary trained (docs/PROTOCOL.md,
/// "Dictionaries"; edge/README.md, `dictionary_*`). Pure.
///
/// - A stream samples its objects (the first `sampleObjectBytes` of each, as they are packed
///   into segments) while it has no dictionary, or once `retrainObjects` of its objects went
///   with the current one; at most `maxSamplingStreams` streams sample at once (memory: at most
///   `maxSamplingStreams × sampleBytes`).
/// - It trains when the sample holds `sampleBytes` (and at least `minSamples` objects). The new
///   dictionary replaces the stream's current one for the segments built after it.
/// - When zstd cannot train (samples too uniform or too few distinct), the stream waits
///   `cooldownObjects` objects before sampling again.
/// - Only segments of at most `maxSegmentBytes` of content are compressed with a dictionary:
///   measured (docs/PERFORMANCE.md), a dictionary saves 3–10 % on a segment of a few small files,
///   nothing at ~300 KB, and costs up to 14 % at level 19 on a segment of hundreds of files,
///   which learns more from itself than from 16 KiB of samples.
public struct DictionaryPolicy: Sendable, Equatable {
    public var capacity: Int
    public var sampleBytes: Int
    public var sampleObjectBytes: Int
    public var retrainObjects: Int
    public static let maxSamplingStreams = 4
    public static let minSamples = 16
    public static let maxSegmentBytes: UInt64 = 128 << 10

    public init(configuration c: EdgeConfiguration) {
        capacity = c.dictionaryBytes
        sampleBytes = c.dictionarySampleBytes
        sampleObjectBytes = c.dictionarySampleObjectBytes
        retrainObjects = c.dictionaryRetrainObjects
    }

    public var enabled: Bool { capacity > 0 }
    public var cooldownObjects: Int { max(1000, 4 * Self.minSamples) }

    public struct Stream: Sendable, Equatable {
        public var hasDictionary = false
        /// Objects packed since the current dictionary was trained (or since a failed training).
        public var objectsSince = 0
        public var sampleBytes = 0
        public var samples = 0
        public var lastTrainingFailed = false
        public init() {}
    }

    /// Whether the stream wants this object's bytes for its sample; `sampling` is how many
    /// other streams are sampling now.
    public func wantsSample(_ s: Stream, sampling: Int) -> Bool {
        guard enabled, s.sampleBytes < sampleBytes else { return false }
        if s.samples == 0 && sampling >= Self.maxSamplingStreams { return false }
        if s.lastTrainingFailed { return s.objectsSince >= cooldownObjects }
        if !s.hasDictionary { return true }
        return retrainObjects > 0 && s.objectsSince >= retrainObjects
    }

    /// Whether a segment with `bytes` of content is compressed with its stream's dictionary.
    public func usesDictionary(segmentBytes bytes: UInt64) -> Bool { enabled && bytes <= Self.maxSegmentBytes }

    public func shouldTrain(_ s: Stream) -> Bool {
        enabled && s.sampleBytes >= sampleBytes && s.samples >= Self.minSamples
    }
}

/// The edge's per-stream zstd dictionaries: samples, training, the current dictionary of each
/// stream, and the dictionary files segments depend on.
///
/// A dictionary is written durably to `<spool>/dictionaries/<sha256>.zdict` before any segment
/// compressed with it is built, and kept while any built batch may reference it: files that are
/// no stream's current dictionary are removed only when no batch is built (`pruneStale`). After
/// a restart the files are found again by the zstd ID in a segment's frame header; a stream's
/// current dictionary is trained anew. Called from blocking threads only.
public final class StreamDictionaries: Sendable {
    public let directory: String
    public let policy: DictionaryPolicy

    struct State {
        var loaded = false
        /// Files may exist that are no stream's current dictionary (left by an earlier run, or replaced).
        var staleMayExist = true
        var byZstdID: [UInt32: ZstdDictionary] = [:]
        var current: [String: ZstdDictionary] = [:]
        var streams: [String: DictionaryPolicy.Stream] = [:]
        var samples: [String: (bytes: [UInt8], sizes: [Int])] = [:]
    }
    private let state = Mutex(State())

    public init(spoolDirectory: String, policy: DictionaryPolicy) {
        directory = spoolDirectory + "/dictionaries"
        self.policy = policy
    }

    /// The dictionary a segment is compressed with: the current one of the stream that has the
    /// most bytes in it (a segment's frames use one dictionary); none for a large segment.
    public func forSegment(_ objects: [SpoolObject]) -> ZstdDictionary? {
        guard policy.enabled else { return nil }
        var bytes: [String: UInt64] = [:]
        for o in objects { bytes[o.stream, default: 0] &+= o.size }
        guard policy.usesDictionary(segmentBytes: bytes.values.reduce(0, &+)) else { return nil }
        guard let top = bytes.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) })?.key else { return nil }
        return state.withLock { $0.current[top] }
    }

    /// Offers the start of an object's bytes (its first chunk) to the stream's sample.
    public func offer(stream: String, _ head: UnsafeRawBufferPointer) {
        guard policy.enabled, !head.isEmpty else { return }
        state.withLock { s in
            let st = s.streams[stream] ?? .init()
            let sampling = s.samples.count - (s.samples[stream] == nil ? 0 : 1)
            guard policy.wantsSample(st, sampling: sampling) else { return }
            let take = min(head.count, policy.sampleObjectBytes, policy.sampleBytes - st.sampleBytes)
            guard take > 0 else { return }
            s.samples[stream, default: ([], [])].bytes.append(contentsOf: head.prefix(take))
            s.samples[stream, default: ([], [])].sizes.append(take)
            s.streams[stream, default: .init()].sampleBytes += take
            s.streams[stream, default: .init()].samples += 1
        }
    }

    /// Counts objects of `stream` packed into a segment.
    public func packed(stream: String, count: Int) {
        guard policy.enabled else { return }
        state.withLock { $0.streams[stream, default: .init()].objectsSince += count }
    }

    /// Trains the streams whose samples are full; each new dictionary is durable before it
    /// becomes current. Returns the streams that got one.
    @discardableResult
    public func trainDue() throws -> [String] {
        let due: [(String, [UInt8], [Int])] = state.withLock { s in
            s.streams.compactMap { name, st in
                guard policy.shouldTrain(st), let sample = s.samples[name] else { return nil }
                return (name, sample.bytes, sample.sizes)
            }
        }
        var trained: [String] = []
        for (stream, bytes, sizes) in due {
            let d = ZstdDictionary.train(samples: bytes, sizes: sizes, capacity: policy.capacity)
            if let d { try persist(d) }
            state.withLock { s in
                s.samples[stream] = nil
                var st = s.streams[stream] ?? .init()
                st.sampleBytes = 0
                st.samples = 0
                st.objectsSince = 0
                st.lastTrainingFailed = d == nil
                if let d {
                    if s.current[stream] != nil { s.staleMayExist = true }
                    st.hasDictionary = true
                    s.current[stream] = d
                    s.byZstdID[d.zstdID] = d
                }
                s.streams[stream] = st
            }
            if d != nil { trained.append(stream) }
        }
        return trained
    }

    private func persist(_ d: ZstdDictionary) throws {
        try FileIO.makeDirectories(directory)
        let path = directory + "/" + d.id + ".zdict"
        if access(path, F_OK) == 0 { return }
        try FileIO.atomicWrite(path, d.bytes, mode: 0o600)
    }

    /// The dictionary with zstd ID `id` (named by a segment's frame header), from memory or
    /// the dictionaries directory (after a restart). A file that does not validate or does not
    /// hash to its name is ignored.
    public func dictionary(zstdID id: UInt32) -> ZstdDictionary? {
        guard id != 0 else { return nil }
        return state.withLock { s in
            if !s.loaded {
                s.loaded = true
                for name in FileIO.list(directory) where name.hasSuffix(".zdict") {
                    guard let bytes = try? FileIO.readAll(directory + "/" + name, limit: ZstdDictionary.maxBytes),
                          let d = try? ZstdDictionary(validating: bytes), name == d.id + ".zdict"
                    else { continue }
                    s.byZstdID[d.zstdID] = s.byZstdID[d.zstdID] ?? d
                }
            }
            return s.byZstdID[id]
        }
    }

    /// The dictionary a built segment file was compressed with (its first frame's zstd ID), or
    /// nil for none. Throws only when the file names a dictionary this edge does not have.
    public func dictionary(ofSegment fd: Int32, path: String) throws -> ZstdDictionary? {
        var head = [UInt8](repeating: 0, count: 18)
        let n = try head.withUnsafeMutableBytes { try FileIO.pread(fd, $0, offset: 0, path) }
        let id = head.withUnsafeBytes { ZstdDictionary.frameDictionaryID(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
        guard id != 0 else { return nil }
        guard let d = dictionary(zstdID: id) else {
            throw TributaryError(.io, "\(path) is compressed with zstd dictionary \(id), which is not in \(directory)")
        }
        return d
    }

    /// Removes dictionary files that are no stream's current dictionary. Call only when no
    /// batch is built (none can reference them).
    public func pruneStale() {
        let keep = state.withLock { s -> Set<String>? in
            guard s.staleMayExist else { return nil }
            s.staleMayExist = false
            let keep = Set(s.current.values.map(\.id))
            s.byZstdID = s.byZstdID.filter { keep.contains($0.value.id) }
            s.loaded = true
            return keep
        }
        guard let keep else { return }
        var removed = false
        for name in FileIO.list(directory) where name.hasSuffix(".zdict") || name.hasSuffix(".tmp") {
            let id = String(name.split(separator: ".").first ?? "")
            if !keep.contains(id) && unlink(directory + "/" + name) == 0 { removed = true }
        }
        if removed { try? FileIO.fsyncDirectory(directory) }
    }
}
