#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The segment format (docs/PROTOCOL.md, "Segments").
//
// A segment carries many small objects in one upload. It is a POSIX tar stream (ustar, pax
// headers for names over 100 bytes or members over 8 GiB), compressed as one or more zstd
// frames, so `zstd -dc SEG | tar -tv` lists it:
//
//   member 0: `tributary-manifest.json`  — the manifest (JSON, ≤ `maxManifestBytes`, 16 MiB)
//   member i: `<stream>/<name>`           — the bytes of the i-th manifest entry whose `ref` is false,
//                                           in manifest order
//   then the tar end-of-archive marker (two zero blocks), optionally zero padding.
//
// Manifest:
//   {"format":"tributary-segment","version":1,
//    "objects":[{"stream":"vibration","name":"a.csv","size":12,"sha256":"<hex>",
//                "captured_at":"2026-11-21T10:00:00Z","ref":false}, …]}
// Version 2 (compact) is the same JSON without the sha256 of the entries that carry bytes and
// without `"ref":false`: the reader computes each member's sha256 and completes the entry
// (`SegmentReader.manifest`), which is what the core records and what its receipt digests. The
// 64 hex digits per object were ~25 KB of a 730-object segment's ~280 KB at level 19 (random,
// so incompressible). Integrity still holds end to end: the upload's sha256 and the tus chunk
// checksums cover the bytes on the wire, zstd's frame checksum the decoded tar, and the edge
// acknowledges an object only when the receipt names it with the edge's own journaled sha256
// (the compact receipt's digest covers every (stream, name, sha256, size); a mismatch makes the
// edge fetch the full receipt, which it checks object by object).
//
// Invariants checked by `SegmentReader` (any violation rejects the whole segment):
// - the manifest is the first member, parses, and lists at least one object;
// - every entry has a valid stream and name, a 64-hex sha256 (version 2: `ref` entries only; an
//   entry that carries bytes may omit it), and no two entries share a (stream, name);
// - members appear exactly in manifest order for the non-`ref` entries: no missing, extra,
//   renamed or reordered member;
// - each member's size equals its entry's, and its sha256 too where the entry lists one;
// - the tar ends with its end-of-archive marker and the zstd stream ends on a frame boundary.
// Limits (`ParserLimits`, any excess rejects the segment): the decoded tar stream is at most
// `maxDecodedBytes`, counted as it is decompressed; the manifest's declared sizes sum (overflow
// checked) to at most `maxDecodedBytes`; the manifest is at most `maxManifestBytes` and
// `maxManifestEntries` entries; pax headers and the zeros after the end marker are bounded as
// in Tar.swift. The reader never traps on any input.
// `ref: true` entries carry no bytes: the sender learned from the have-check that the core
// already holds that content for this site.
// A segment may be compressed with a zstd dictionary (`ZstdDictionary`) that its upload names
// by sha256 (`MetadataKey.dictionary`); every frame then records the dictionary's zstd ID and
// the reader, given that dictionary, refuses a frame that names another.

/// One object listed in a segment manifest.
public struct ManifestEntry: Codable, Sendable, Equatable {
    public var stream: String
    public var name: String
    public var size: UInt64
    public var sha256: String
    public var capturedAt: String?
    public var ref: Bool

    public init(stream: String, name: String, size: UInt64, sha256: String, capturedAt: String? = nil, ref: Bool = false) {
        self.stream = stream
        self.name = name
        self.size = size
        self.sha256 = sha256
        self.capturedAt = capturedAt
        self.ref = ref
    }

    enum CodingKeys: String, CodingKey {
        case stream, name, size, sha256, ref
        case capturedAt = "captured_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stream = try c.decode(String.self, forKey: .stream)
        name = try c.decode(String.self, forKey: .name)
        size = try c.decode(UInt64.self, forKey: .size)
        // Absent only in a version-2 manifest (checked by `validate`); the reader completes it.
        sha256 = try c.decodeIfPresent(String.self, forKey: .sha256) ?? ""
        capturedAt = try c.decodeIfPresent(String.self, forKey: .capturedAt)
        ref = try c.decodeIfPresent(Bool.self, forKey: .ref) ?? false
    }

    /// The tar member path of this entry.
    public var memberPath: String { stream + "/" + name }
}

/// An entry as a version-2 manifest writes it: no sha256 when the entry carries bytes, no
/// `ref` unless true.
private struct CompactManifestEntry: Encodable {
    var stream: String
    var name: String
    var size: UInt64
    var sha256: String?
    var capturedAt: String?
    var ref: Bool?

    init(_ e: ManifestEntry) {
        stream = e.stream
        name = e.name
        size = e.size
        sha256 = e.ref ? e.sha256 : nil
        capturedAt = e.capturedAt
        ref = e.ref ? true : nil
    }

    enum CodingKeys: String, CodingKey {
        case stream, name, size, sha256, ref
        case capturedAt = "captured_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stream, forKey: .stream)
        try c.encode(name, forKey: .name)
        try c.encode(size, forKey: .size)
        try c.encodeIfPresent(sha256, forKey: .sha256)
        try c.encodeIfPresent(capturedAt, forKey: .capturedAt)
        try c.encodeIfPresent(ref, forKey: .ref)
    }
}

private struct CompactManifest: Encodable {
    var format: String
    var version: Int
    var objects: [CompactManifestEntry]
}

public struct SegmentManifest: Codable, Sendable, Equatable {
    public static let memberName = "tributary-manifest.json"
    public static let formatName = "tributary-segment"
    /// The default ceiling on the manifest member (`ParserLimits.maxManifestBytes`).
    public static let maxBytes = Int(ParserLimits.default.maxManifestBytes)

    /// The versions a reader accepts: 1 (every entry with its sha256) and 2 (compact: see above).
    public static let versions = 1...2
    /// The version an edge writes unless told otherwise (`segment_manifest_version`).
    public static let compactVersion = 2

    public var format: String
    public var version: Int
    public var objects: [ManifestEntry]

    /// `version` 1 for a reader older than version 2 (a relay's downstream core of unknown age).
    public init(objects: [ManifestEntry], version: Int = 1) {
        self.format = Self.formatName
        self.version = version
        self.objects = objects
    }

    /// Checks everything about the manifest that does not need the members, `limits` included:
    /// at most `maxManifestEntries` entries, and the sizes of the entries that carry bytes sum
    /// (with overflow detection) to at most `maxDecodedBytes` (`too_large`).
    public func validate(limits: ParserLimits = .default) throws {
        guard format == Self.formatName, Self.versions.contains(version) else {
            throw TributaryError(.corruptSegment, "manifest format '\(format)' version \(version) is not supported")
        }
        guard !objects.isEmpty else { throw TributaryError(.corruptSegment, "manifest lists no objects") }
        guard objects.count <= limits.maxManifestEntries else {
            throw TributaryError(.corruptSegment, "manifest lists \(objects.count) objects, more than \(limits.maxManifestEntries)")
        }
        _ = try declaredBytes(limit: limits.maxDecodedBytes)
        var seen = Set<String>()
        for e in objects {
            try Names.validateStream(e.stream)
            try Names.validateObjectName(e.name)
            // Version 2 leaves the sha256 of an entry that carries bytes to the reader.
            guard Hex.isSHA256(e.sha256) || (version >= 2 && !e.ref && e.sha256.isEmpty) else {
                throw TributaryError(.corruptSegment, "manifest entry '\(Names.printable(e.name))' has a malformed sha256")
            }
            if let t = e.capturedAt { _ = try Timestamp.parse(t) }
            guard seen.insert(e.memberPath).inserted else {
                throw TributaryError(.duplicateName, "name '\(Names.printable(e.name))' appears twice in stream '\(e.stream)'")
            }
        }
    }

    /// The sum of the sizes of the entries that carry bytes (non-`ref`), or `too_large` when it
    /// exceeds `limit` or UInt64 (two entries of 2^63 must not wrap to 0).
    public func declaredBytes(limit: UInt64) throws -> UInt64 {
        var total: UInt64 = 0
        for e in objects where !e.ref {
            let (sum, overflow) = total.addingReportingOverflow(e.size)
            guard !overflow, sum <= limit else {
                throw TributaryError(.tooLarge, "segment declares more than \(limit) bytes of objects")
            }
            total = sum
        }
        return total
    }

    public func encoded() throws -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        if version >= 2 {
            return Array(try enc.encode(CompactManifest(format: format, version: version, objects: objects.map(CompactManifestEntry.init))))
        }
        return Array(try enc.encode(self))
    }

    public static func decode(_ bytes: [UInt8]) throws -> SegmentManifest {
        do {
            return try JSONDecoder().decode(SegmentManifest.self, from: Data(bytes))
        } catch {
            throw TributaryError(.corruptSegment, "manifest is not valid JSON of the segment format: \(error)")
        }
    }
}

/// Where a writer's output goes.
public protocol ByteSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Writes a segment: the manifest, then each non-`ref` entry's bytes in order. Verifies sizes
/// and sha256 of what it is given, so a spool file that changed on disk is caught before it
/// leaves the site.
public struct SegmentWriter<Sink: ByteSink> {
    public private(set) var sink: Sink
    private let compressor: ZstdCompressor
    private let manifest: SegmentManifest
    private var pending: [ManifestEntry]
    private var current: (entry: ManifestEntry, written: UInt64, digest: StreamingDigest)?

    public init(sink: Sink, manifest: SegmentManifest, level: Int32 = 3, dictionary: ZstdDictionary? = nil) throws {
        try manifest.validate()
        // The writer checks every object it sends against its sha256, whatever the version writes.
        if let partial = manifest.objects.first(where: { !Hex.isSHA256($0.sha256) }) {
            throw TributaryError(.corruptSegment, "manifest entry '\(Names.printable(partial.name))' has no sha256 to check its bytes against")
        }
        let json = try manifest.encoded()
        self.sink = sink
        self.manifest = manifest
        self.compressor = ZstdCompressor(level: level, dictionary: dictionary, sizeHint: Self.tarBound(manifest, json: json))
        self.pending = manifest.objects.filter { !$0.ref }
        try writeManifest(json)
    }

    /// At least the length of the tar stream this writer produces (the compressor's size hint: a
    /// small segment at level 19 then needs ~1 MiB of zstd tables instead of ~90 MiB). Each member
    /// costs at most its size, a 512-byte header, a pax header block and its records (at most
    /// 1,536 bytes for a path within `Names`' limits) and 511 bytes of padding. An underestimate
    /// would only cost ratio (a window shorter than the stream), never correctness. Saturates.
    public static func tarBound(_ manifest: SegmentManifest, json: [UInt8]) -> UInt64 {
        let perMember: UInt64 = 512 + 512 + 1536 + 511
        var total = UInt64(json.count) + perMember + UInt64(Tar.endOfArchive.count)
        for e in manifest.objects where !e.ref {
            let (a, o1) = total.addingReportingOverflow(e.size)
            let (b, o2) = a.addingReportingOverflow(perMember)
            if o1 || o2 { return .max }
            total = b
        }
        return total
    }

    private mutating func writeManifest(_ json: [UInt8]) throws {
        try emit(Tar.encodeHeader(TarHeader(path: SegmentManifest.memberName, size: UInt64(json.count))))
        try emit(json)
        try emit([UInt8](repeating: 0, count: Tar.padding(for: UInt64(json.count))))
    }

    /// The entries whose bytes still have to be written, in order.
    public var remaining: [ManifestEntry] { pending }

    public mutating func beginObject() throws -> ManifestEntry {
        precondition(current == nil, "beginObject while an object is open")
        guard !pending.isEmpty else { throw TributaryError(.manifestMismatch, "no more objects in the manifest") }
        let e = pending.removeFirst()
        try emit(Tar.encodeHeader(TarHeader(path: e.memberPath, size: e.size)))
        current = (e, 0, StreamingDigest())
        return e
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let c = current else { preconditionFailure("write without beginObject") }
        guard c.written + UInt64(bytes.count) <= c.entry.size else {
            throw TributaryError(.sizeMismatch, "'\(Names.printable(c.entry.name))' is longer than its \(c.entry.size) bytes")
        }
        c.digest.update(bytes)
        current!.written += UInt64(bytes.count)
        try emitRaw(bytes)
    }

    public mutating func endObject() throws {
        guard let c = current else { preconditionFailure("endObject without beginObject") }
        guard c.written == c.entry.size else {
            throw TributaryError(.sizeMismatch, "'\(Names.printable(c.entry.name))' has \(c.written) bytes, expected \(c.entry.size)")
        }
        let h = c.digest.finalizeHex()
        guard h == c.entry.sha256 else {
            throw TributaryError(.checksumMismatch, "'\(Names.printable(c.entry.name))' has sha256 \(h), expected \(c.entry.sha256)")
        }
        try emit([UInt8](repeating: 0, count: Tar.padding(for: c.entry.size)))
        current = nil
    }

    /// Writes the end-of-archive marker and ends the zstd frame. Returns the sink.
    public mutating func finish() throws -> Sink {
        precondition(current == nil, "finish while an object is open")
        guard pending.isEmpty else {
            throw TributaryError(.manifestMismatch, "\(pending.count) objects of the manifest were not written")
        }
        try emit(Tar.endOfArchive)
        try compressor.finish { try sink.write($0) }
        return sink
    }

    private mutating func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try emitRaw($0) }
    }

    private mutating func emitRaw(_ bytes: UnsafeRawBufferPointer) throws {
        try compressor.compress(bytes) { try sink.write($0) }
    }
}

/// Receives the verified contents of a segment from `SegmentReader`.
public protocol SegmentDelegate {
    /// The manifest, already validated.
    mutating func segmentManifest(_ manifest: SegmentManifest) throws
    /// In a version-2 manifest `entry.sha256` is still empty here when the manifest omits it.
    mutating func segmentObjectBegan(_ entry: ManifestEntry) throws
    mutating func segmentObjectData(_ bytes: UnsafeRawBufferPointer) throws
    /// Called only after size and sha256 matched the entry; `entry.sha256` is the member's.
    mutating func segmentObjectEnded(_ entry: ManifestEntry) throws
}

/// Reads a segment incrementally from its compressed bytes and checks every invariant above.
/// Feed it the upload's bytes in order, then call `finish()`.
///
/// After it has thrown, a reader refuses further input (the same error code again), so a
/// caller that keeps feeding cannot reach a state the checks above never saw.
public struct SegmentReader<Delegate: SegmentDelegate> {
    private let decompressor: ZstdDecompressor
    private var tar: TarParser
    private var adapter: Adapter
    private let limits: ParserLimits
    /// Decompressed bytes so far (bounded by `limits.maxDecodedBytes`).
    public private(set) var decodedBytes: UInt64 = 0
    private var failure: TributaryError?

    /// `dictionary`: the one the segment's upload names (`MetadataKey.dictionary`); its frames
    /// must record that dictionary's ID.
    public init(delegate: Delegate, limits: ParserLimits = .default, dictionary: ZstdDictionary? = nil) {
        self.decompressor = ZstdDecompressor(dictionary: dictionary)
        self.adapter = Adapter(state: TarState(), delegate: delegate, limits: limits)
        self.tar = TarParser(limits: limits)
        self.limits = limits
    }

    public var delegate: Delegate {
        get { adapter.delegate }
        set { adapter.delegate = newValue }
    }

    private var state: TarState { adapter.state }

    public mutating func feed(_ compressed: UnsafeRawBufferPointer) throws {
        try checkNotFailed()
        do {
            try decompressor.decompress(compressed) { plain in
                let (total, overflow) = decodedBytes.addingReportingOverflow(UInt64(plain.count))
                guard !overflow, total <= limits.maxDecodedBytes else {
                    throw TributaryError(.tooLarge, "segment decodes to more than \(limits.maxDecodedBytes) bytes")
                }
                decodedBytes = total
                try tar.feed(plain, into: &adapter)
            }
        } catch let e as TributaryError {
            failure = e
            throw e
        }
    }

    private func checkNotFailed() throws {
        if let f = failure { throw TributaryError(f.code, "segment reader used after it failed: \(f.message)") }
    }

    /// The manifest, once its member has been read. In a version-2 manifest an entry that carries
    /// bytes gets its sha256 (computed here) when its member has been read: after `finish()`
    /// every entry has one.
    public var manifest: SegmentManifest? { state.manifest }

    public mutating func finish() throws {
        try checkNotFailed()
        try decompressor.finish()
        if state.manifest == nil {
            throw TributaryError(.corruptSegment, "segment ended before its manifest")
        }
        if let open = state.current {
            throw TributaryError(.corruptSegment, "segment ended inside member '\(Names.printable(open.entry.memberPath))'")
        }
        if let missing = state.expected.first, let m = state.manifest {
            throw TributaryError(
                .manifestMismatch,
                "member '\(Names.printable(m.objects[missing].memberPath))' listed in the manifest is missing (\(state.expected.count) missing)")
        }
        guard tar.reachedEnd else { throw TributaryError(.corruptSegment, "tar stream has no end-of-archive marker (truncated)") }
    }

    struct TarState {
        var manifest: SegmentManifest?
        var manifestBuffer: [UInt8]?
        /// Indices into `manifest.objects` of the entries whose members are still to come.
        var expected: ArraySlice<Int> = []
        var current: (index: Int, entry: ManifestEntry, digest: StreamingDigest)?
    }

    struct Adapter: TarParser.Delegate {
        var state: TarState
        var delegate: Delegate
        let limits: ParserLimits

        mutating func tarMemberBegan(_ header: TarHeader) throws {
            if state.manifest == nil {
                guard header.path == SegmentManifest.memberName else {
                    throw TributaryError(.corruptSegment, "first member is '\(Names.printable(header.path))', expected the manifest '\(SegmentManifest.memberName)'")
                }
                guard header.size <= limits.maxManifestBytes else {
                    throw TributaryError(.corruptSegment, "manifest of \(header.size) bytes exceeds \(limits.maxManifestBytes)")
                }
                guard state.manifestBuffer == nil else {
                    throw TributaryError(.corruptSegment, "a second manifest member before the first was read")
                }
                state.manifestBuffer = []
                return
            }
            guard let index = state.expected.first, let next = state.manifest?.objects[index] else {
                throw TributaryError(.manifestMismatch, "member '\(Names.printable(header.path))' is not listed in the manifest")
            }
            guard header.path == next.memberPath else {
                throw TributaryError(
                    .manifestMismatch,
                    "member '\(Names.printable(header.path))' found where the manifest expects '\(Names.printable(next.memberPath))'")
            }
            guard header.size == next.size else {
                throw TributaryError(
                    .sizeMismatch, "member '\(Names.printable(header.path))' has \(header.size) bytes, manifest says \(next.size)")
            }
            state.expected.removeFirst()
            state.current = (index, next, StreamingDigest())
            try delegate.segmentObjectBegan(next)
        }

        mutating func tarMemberData(_ bytes: UnsafeRawBufferPointer) throws {
            // The manifest's size was checked against maxManifestBytes when its header was read.
            if state.manifestBuffer != nil {
                state.manifestBuffer?.append(contentsOf: bytes)
                return
            }
            guard let open = state.current else {
                throw TributaryError(.corruptSegment, "tar member data outside a member")
            }
            open.digest.update(bytes)
            try delegate.segmentObjectData(bytes)
        }

        mutating func tarMemberEnded() throws {
            if let buf = state.manifestBuffer {
                state.manifestBuffer = nil
                let m = try SegmentManifest.decode(buf)
                try m.validate(limits: limits)
                state.manifest = m
                state.expected = m.objects.indices.filter { !m.objects[$0].ref }[...]
                try delegate.segmentManifest(m)
                return
            }
            guard let c = state.current else {
                throw TributaryError(.corruptSegment, "tar member ended outside a member")
            }
            state.current = nil
            let h = c.digest.finalizeHex()
            var entry = c.entry
            if entry.sha256.isEmpty {
                // Version 2: the member's bytes name their content.
                entry.sha256 = h
                state.manifest?.objects[c.index].sha256 = h
            }
            guard h == entry.sha256 else {
                throw TributaryError(
                    .checksumMismatch, "member '\(Names.printable(entry.memberPath))' has sha256 \(h), manifest says \(entry.sha256)")
            }
            try delegate.segmentObjectEnded(entry)
        }
    }
}
