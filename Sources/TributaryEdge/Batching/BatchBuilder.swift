#if canImport(Glibc)
import Glibc
#endif
import TributaryFiles
import TributaryProtocol

/// A built batch file, durable under batches/, not yet journaled.
public struct BuiltBatch: Sendable {
    public var file: String
    public var size: UInt64
    public var sha256: String
    /// The zstd dictionary a segment is compressed with (its sha256), if any.
    public var dictionary: String? = nil
}

/// A spool object whose file no longer matches its journaled size or sha256 (disk corruption,
/// or someone edited the spool). It is quarantined, never sent as if it were the original.
public struct CorruptSpoolObject: Error, Sendable, CustomStringConvertible {
    public var objectID: Int64
    public var reason: String
    public var description: String { "spool object \(objectID) is corrupt: \(reason)" }
}

/// Writes segment files and compressed single objects: streamed, verified against the journal's
/// sha256 while read, written under incoming/, fsync'd, renamed into batches/, directory fsync'd.
public struct BatchBuilder: Sendable {
    public let spoolDirectory: String
    public let zstdLevel: Int32
    /// The level and manifest version of segments (`zstdLevel` stays the level of single objects).
    public let compression: SegmentCompression
    /// Per-stream dictionaries: segments are compressed with one, objects sampled for training.
    public let dictionaries: StreamDictionaries?

    /// `compression`: by default the level `zstdLevel` for every segment and version-1 manifests.
    public init(
        spoolDirectory: String, zstdLevel: Int32, compression: SegmentCompression? = nil, dictionaries: StreamDictionaries? = nil
    ) {
        self.spoolDirectory = spoolDirectory
        self.zstdLevel = zstdLevel
        self.compression = compression ?? SegmentCompression(level: zstdLevel, smallLevel: zstdLevel, manifestVersion: 1)
        self.dictionaries = dictionaries
    }

    public func buildSegment(_ entries: [(object: SpoolObject, ref: Bool)]) throws -> BuiltBatch {
        let manifest = SegmentManifest(objects: entries.map {
            ManifestEntry(stream: $0.object.stream, name: $0.object.name, size: $0.object.size, sha256: $0.object.sha256,
                          capturedAt: $0.object.capturedAt, ref: $0.ref)
        }, version: compression.manifestVersion)
        let sent = entries.filter { !$0.ref }.map(\.object)
        let dictionary = dictionaries?.forSegment(sent)
        // Spool sizes are journaled; a sum past UInt64 cannot happen, saturate rather than trap.
        let content = sent.reduce(UInt64(0)) { $0.addingReportingOverflow($1.size).overflow ? .max : $0 + $1.size }
        let level = compression.level(contentBytes: content)
        // One read buffer for the whole segment, not one (zeroed) per object.
        var buffer = ReadBuffer()
        let cpu = LevelMeasurements.threadCPUSeconds()
        var built = try build(suffix: ".seg") { sink in
            var writer = try SegmentWriter(sink: sink, manifest: manifest, level: level, dictionary: dictionary)
            for (o, ref) in entries where !ref {
                _ = try writer.beginObject()
                var first = true
                try stream(o, buffer: &buffer) { chunk in
                    if first { dictionaries?.offer(stream: o.stream, chunk) }
                    first = false
                    try writer.write(chunk)
                }
                CrashPoints.hit("batch.mid-build")
                do {
                    try writer.endObject()
                } catch let e as TributaryError {
                    throw CorruptSpoolObject(objectID: o.id, reason: e.message)
                }
            }
            return try writer.finish()
        }
        built.dictionary = dictionary?.id
        compression.compressed(level: level, contentBytes: content, compressedBytes: built.size, cpuSeconds: LevelMeasurements.threadCPUSeconds() - cpu)
        if let dictionaries {
            for (stream, n) in Dictionary(sent.map { ($0.stream, 1) }, uniquingKeysWith: +) { dictionaries.packed(stream: stream, count: n) }
            // Training failing to persist leaves the stream without a new dictionary; the segment stands.
            _ = try? dictionaries.trainDue()
        }
        return built
    }

    /// The object zstd-compressed (one frame), for `encoding=zstd`.
    public func buildCompressed(_ o: SpoolObject) throws -> BuiltBatch {
        try build(suffix: ".zst") { sink in
            var sink = sink
            let z = ZstdCompressor(level: zstdLevel)
            let digest = StreamingDigest(.sha256)
            var buffer = ReadBuffer()
            try stream(o, buffer: &buffer) { chunk in
                digest.update(chunk)
                try z.compress(chunk) { try sink.write($0) }
            }
            try z.finish { try sink.write($0) }
            let h = digest.finalizeHex()
            guard h == o.sha256 else { throw CorruptSpoolObject(objectID: o.id, reason: "sha256 is \(h), journaled \(o.sha256)") }
            return sink
        }
    }

    /// Verifies an object's spool file against the journal (used when the core rejects a batch).
    public func verify(_ o: SpoolObject) -> Bool {
        let digest = StreamingDigest(.sha256)
        var buffer = ReadBuffer()
        do {
            try stream(o, buffer: &buffer) { digest.update($0) }
        } catch {
            return false
        }
        return digest.finalizeHex() == o.sha256
    }

    private func stream(_ o: SpoolObject, buffer: inout ReadBuffer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let path = spoolDirectory + "/" + o.file
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CorruptSpoolObject(objectID: o.id, reason: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset: UInt64 = 0
        while true {
            let n = try buffer.bytes.withUnsafeMutableBytes { try FileIO.pread(fd, $0, offset: offset, path) }
            if n == 0 { break }
            try buffer.bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += UInt64(n)
        }
        guard offset == o.size else { throw CorruptSpoolObject(objectID: o.id, reason: "has \(offset) bytes, journaled \(o.size)") }
    }

    private func build(suffix: String, _ write: (FileSink) throws -> FileSink) throws -> BuiltBatch {
        let name = Hex.encode(secureRandomBytes(12)) + suffix
        let tmp = spoolDirectory + "/incoming/" + name
        let fd = try FileIO.open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do {
            var sink = try write(FileSink(fd: fd, path: tmp))
            try sink.flush()
            try FileIO.fsync(fd, tmp)
            close(fd)
            closed = true
            let rel = "batches/" + name
            guard rename(tmp, spoolDirectory + "/" + rel) == 0 else { throw FileIO.error("rename", tmp) }
            try FileIO.fsyncDirectory(spoolDirectory + "/batches")
            CrashPoints.hit("batch.after-build")
            return BuiltBatch(file: rel, size: sink.written, sha256: sink.digest.finalizeHex())
        } catch {
            unlink(tmp)
            throw error
        }
    }
}

/// Buffered writes to a file, hashing what is written.
struct FileSink: ByteSink {
    let fd: Int32
    let path: String
    let digest = StreamingDigest(.sha256)
    private(set) var written: UInt64 = 0
    private var buffer: [UInt8] = []

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        buffer.reserveCapacity(256 * 1024)
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        digest.update(bytes)
        written += UInt64(bytes.count)
        if buffer.count + bytes.count > 256 * 1024 { try flush() }
        if bytes.count >= 256 * 1024 {
            try FileIO.writeAll(fd, bytes, path)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try FileIO.writeAll(fd, $0, path) }
        buffer.removeAll(keepingCapacity: true)
    }
}
