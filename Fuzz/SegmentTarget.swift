import CZstd

/// Segment target: the whole path a committed upload takes — zstd, tar, manifest, members.
///
/// The first input byte chooses the shape: even, the rest is an uncompressed tar stream that
/// the target compresses before reading (zstd's frame checksum would otherwise stop almost
/// every mutation at the decompressor); odd, the rest is fed as compressed bytes as they are
/// (zstd framing). The reader is fed in chunks of 13, 512, 4096 bytes or all at once, as the
/// first byte's other bits say.
/// Whatever it accepts must be consistent: one object per non-ref entry, in order, each with
/// the size and sha256 the manifest lists.
func fuzzSegment(_ input: UnsafeRawBufferPointer) {
    guard let mode = input.first else { return }
    let rest = Array(input.dropFirst())
    let compressed: [UInt8]
    if mode & 1 == 0 {
        compressed = compressOneShot(rest)
    } else {
        compressed = rest
    }
    fuzzReadSegment(compressed, chunk: [13, 512, 4096, 1 << 30][Int(mode >> 1) % 4], dictionary: nil)
}

/// Feeds `compressed` to a reader (with `dictionary`) in `chunk`s and checks what it accepted.
func fuzzReadSegment(_ compressed: [UInt8], chunk: Int, dictionary: ZstdDictionary?) {
    var reader = SegmentReader(delegate: FuzzSegmentDelegate(), limits: fuzzSegmentLimits, dictionary: dictionary)
    do {
        var i = 0
        while i < compressed.count {
            let end = min(i + chunk, compressed.count)
            try compressed[i..<end].withUnsafeBytes { try reader.feed($0) }
            i = end
        }
        try reader.finish()
    } catch let e as TributaryError {
        precondition(e.code != .io, "SegmentReader threw \(e)")
        return
    } catch {
        preconditionFailure("SegmentReader threw a non-TributaryError: \(error)")
    }
    guard let manifest = reader.manifest else { preconditionFailure("accepted a segment without a manifest") }
    let expected = manifest.objects.filter { !$0.ref }
    let got = reader.delegate.objects
    precondition(got.count == expected.count, "accepted \(got.count) objects, manifest lists \(expected.count)")
    for (e, o) in zip(expected, got) {
        precondition(o.entry == e, "objects out of manifest order")
        precondition(UInt64(o.bytes.count) == e.size, "object size differs from its entry")
        precondition(StreamingDigest.sha256Hex(o.bytes) == e.sha256, "object sha256 differs from its entry")
    }
    precondition(reader.decodedBytes <= fuzzSegmentLimits.maxDecodedBytes, "decoded past the limit")
}

/// One zstd frame of `bytes`, written by the one-shot API: the frame header then carries the
/// content size, so the reader's decoder sizes its buffers to the input instead of a 512 KiB
/// window. (Fresh megabyte buffers per input, each mapped and poisoned by the address sanitizer,
/// made this target ten times slower.)
func compressOneShot(_ bytes: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
    let n = out.withUnsafeMutableBytes { o in
        bytes.withUnsafeBytes { i in ZSTD_compress(o.baseAddress, o.count, i.baseAddress, i.count, 1) }
    }
    precondition(ZSTD_isError(n) == 0, "ZSTD_compress failed")
    return Array(out.prefix(n))
}

/// Small ceilings so that the fuzzer reaches them and an input cannot take seconds.
let fuzzSegmentLimits: ParserLimits = {
    var l = ParserLimits(maxDecodedBytes: 4 << 20)
    l.maxManifestBytes = 256 << 10
    l.maxManifestEntries = 1000
    l.maxPaxRecordBytes = 2048
    l.maxPaxHeaderBytes = 8192
    return l
}()

struct FuzzSegmentDelegate: SegmentDelegate {
    var manifest: SegmentManifest?
    var objects: [(entry: ManifestEntry, bytes: [UInt8])] = []
    var open: (entry: ManifestEntry, bytes: [UInt8])?

    mutating func segmentManifest(_ manifest: SegmentManifest) throws {
        precondition(self.manifest == nil, "segmentManifest called twice")
        self.manifest = manifest
    }

    mutating func segmentObjectBegan(_ entry: ManifestEntry) throws {
        precondition(manifest != nil && open == nil, "object began before the manifest or inside another")
        open = (entry, [])
    }

    mutating func segmentObjectData(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(open != nil, "object data outside an object")
        open?.bytes.append(contentsOf: bytes)
    }

    mutating func segmentObjectEnded(_ entry: ManifestEntry) throws {
        // A version-2 entry gets its sha256 only when its member ends; the rest must not change.
        guard var o = open, o.entry.memberPath == entry.memberPath, o.entry.size == entry.size, o.entry.ref == entry.ref,
            o.entry.capturedAt == entry.capturedAt, o.entry.sha256.isEmpty || o.entry.sha256 == entry.sha256
        else { preconditionFailure("object ended that was not open") }
        precondition(Hex.isSHA256(entry.sha256), "object ended without a sha256")
        o.entry = entry
        objects.append(o)
        open = nil
    }
}
