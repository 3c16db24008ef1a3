import TributaryProtocol

/// A `ByteSink` that collects everything written into memory.
public struct ArraySink: ByteSink, Sendable {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: bytes)
    }
}

/// A `SegmentDelegate` that records every callback, for comparing what a reader delivered with
/// what was written.
public struct CollectingDelegate: SegmentDelegate, Sendable {
    public struct Object: Sendable, Equatable {
        public var entry: ManifestEntry
        public var bytes: [UInt8]
    }

    public private(set) var manifest: SegmentManifest?
    /// Objects whose `segmentObjectEnded` was called, in order.
    public private(set) var objects: [Object] = []
    /// The object between `segmentObjectBegan` and `segmentObjectEnded`, if any.
    public private(set) var open: Object?

    public init() {}

    public mutating func segmentManifest(_ manifest: SegmentManifest) throws {
        precondition(self.manifest == nil, "segmentManifest called twice")
        self.manifest = manifest
    }

    public mutating func segmentObjectBegan(_ entry: ManifestEntry) throws {
        precondition(open == nil, "segmentObjectBegan while an object is open")
        open = Object(entry: entry, bytes: [])
    }

    public mutating func segmentObjectData(_ bytes: UnsafeRawBufferPointer) throws {
        open!.bytes.append(contentsOf: bytes)
    }

    public mutating func segmentObjectEnded(_ entry: ManifestEntry) throws {
        // A version-2 entry gets its sha256 only when its member ends.
        precondition(open?.entry.memberPath == entry.memberPath && open?.entry.size == entry.size, "segmentObjectEnded for another entry")
        precondition(open?.entry.sha256.isEmpty == true || open?.entry.sha256 == entry.sha256, "the entry's sha256 changed")
        objects.append(Object(entry: entry, bytes: open!.bytes))
        open = nil
    }
}

/// One object to put in a test segment: its manifest entry and its bytes (ignored for refs).
public struct SegmentItem: Sendable {
    public var entry: ManifestEntry
    public var bytes: [UInt8]

    /// An entry whose size and sha256 are those of `bytes`.
    public init(stream: String = "vibration", name: String, bytes: [UInt8], capturedAt: String? = nil, ref: Bool = false) {
        self.entry = ManifestEntry(
            stream: stream, name: name, size: UInt64(bytes.count), sha256: StreamingDigest.sha256Hex(bytes),
            capturedAt: capturedAt, ref: ref)
        self.bytes = bytes
    }

    public init(entry: ManifestEntry, bytes: [UInt8]) {
        self.entry = entry
        self.bytes = bytes
    }
}

/// Sensor-like CSV text (a header and readings that drift), for dictionary training.
public enum SensorCSV {
    public static func file(station: Int, lines: Int, seed: UInt64) -> [UInt8] {
        var rng = seed &* 6364136223846793005 &+ 1442695040888963407
        func next() -> Int {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: (rng >> 33) % 1000)
        }
        var out = "time,station,temperature_c,humidity_pct,pressure_hpa,wind_ms\n"
        var t = 1_795_000_000 + station * 3600
        for _ in 0..<lines {
            t += 3600
            out += "\(t),station-\(station),\(next() / 40 - 5).\(next() % 10),\(40 + next() / 20),\(990 + next() / 25).\(next() % 10),\(next() / 100).\(next() % 10)\n"
        }
        return Array(out.utf8)
    }

    /// Samples for `ZstdDictionary.train`: `count` files, concatenated, with their sizes.
    public static func samples(count: Int, lines: Int = 24) -> (bytes: [UInt8], sizes: [Int]) {
        var bytes: [UInt8] = []
        var sizes: [Int] = []
        for i in 0..<count {
            let f = file(station: i % 17, lines: lines, seed: UInt64(i))
            bytes += f
            sizes.append(f.count)
        }
        return (bytes, sizes)
    }
}

/// Builders of well-formed and deliberately broken segments, all in memory.
public enum SegmentFixtures {
    /// A segment written by `SegmentWriter`: the manifest lists `items` in order, and each
    /// non-ref item's bytes are written in slices of up to `chunk` bytes.
    public static func segment(
        _ items: [SegmentItem], chunk: Int = 1000, dictionary: ZstdDictionary? = nil, version: Int = 1
    ) throws -> [UInt8] {
        let manifest = SegmentManifest(objects: items.map(\.entry), version: version)
        var writer = try SegmentWriter(sink: ArraySink(), manifest: manifest, dictionary: dictionary)
        for item in items where !item.entry.ref {
            _ = try writer.beginObject()
            var i = 0
            while i < item.bytes.count {
                let end = min(i + chunk, item.bytes.count)
                try item.bytes[i..<end].withUnsafeBytes { try writer.write($0) }
                i = end
            }
            try writer.endObject()
        }
        return try writer.finish().bytes
    }

    /// One tar member: its header (pax header included when needed), data and padding.
    public static func tarMember(path: String, bytes: [UInt8]) -> [UInt8] {
        Tar.encodeHeader(TarHeader(path: path, size: UInt64(bytes.count))) + bytes
            + [UInt8](repeating: 0, count: Tar.padding(for: UInt64(bytes.count)))
    }

    /// The manifest member of `manifest`, encoded as `SegmentWriter` encodes it.
    public static func manifestMember(_ manifest: SegmentManifest) throws -> [UInt8] {
        tarMember(path: SegmentManifest.memberName, bytes: try manifest.encoded())
    }

    /// A hand-built tar (uncompressed) of `members`, with or without the end-of-archive marker.
    public static func tar(_ members: [(path: String, bytes: [UInt8])], endMarker: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        for m in members { out += tarMember(path: m.path, bytes: m.bytes) }
        if endMarker { out += Tar.endOfArchive }
        return out
    }

    /// The usual tar of a segment: manifest of `items`, then the non-ref items' members.
    public static func segmentTar(_ items: [SegmentItem], endMarker: Bool = true, version: Int = 1) throws -> [UInt8] {
        let manifest = SegmentManifest(objects: items.map(\.entry), version: version)
        return tar(
            [(SegmentManifest.memberName, try manifest.encoded())]
                + items.filter { !$0.entry.ref }.map { ($0.entry.memberPath, $0.bytes) },
            endMarker: endMarker)
    }

    /// `plain` as one zstd frame (with the frame checksum).
    public static func compress(_ plain: [UInt8], level: Int32 = 3) throws -> [UInt8] {
        let c = ZstdCompressor(level: level)
        var out: [UInt8] = []
        try plain.withUnsafeBytes { p in try c.compress(p) { out.append(contentsOf: $0) } }
        try c.finish { out.append(contentsOf: $0) }
        return out
    }

    /// Decompresses a whole zstd stream, checking it ends on a frame boundary.
    public static func decompress(_ compressed: [UInt8]) throws -> [UInt8] {
        let d = ZstdDecompressor()
        var out: [UInt8] = []
        try compressed.withUnsafeBytes { z in try d.decompress(z) { out.append(contentsOf: $0) } }
        try d.finish()
        return out
    }

    /// Feeds `compressed` to a `SegmentReader` in chunks of varying sizes and finishes it.
    /// Returns what the delegate saw; throws the reader's error.
    public static func read(_ compressed: [UInt8], maxChunk: Int = 4096, dictionary: ZstdDictionary? = nil) throws -> CollectingDelegate {
        var reader = SegmentReader(delegate: CollectingDelegate(), dictionary: dictionary)
        for chunk in TestBytes.chunks(compressed, maxChunk: maxChunk) {
            try chunk.withUnsafeBytes { try reader.feed($0) }
        }
        try reader.finish()
        return reader.delegate
    }
}
