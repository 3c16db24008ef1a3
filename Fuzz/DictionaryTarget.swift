import CZstd

/// Dictionary target: a dictionary body a site PUTs, and a segment decoded with a dictionary.
///
/// First input byte even: the rest is a dictionary body for `ZstdDictionary(validating:)`; what
/// it accepts must be within the size limit, hash to its id and carry a zstd ID, and a segment
/// decoded with it (a fixed one, compressed with the target's own dictionary) must be either
/// refused with a `TributaryError` or read consistently. Odd: the rest is a segment's compressed
/// bytes decoded with the target's dictionary (the reader's invariants, as in the segment target).
func fuzzDictionary(_ input: UnsafeRawBufferPointer) {
    guard let mode = input.first else { return }
    let rest = Array(input.dropFirst())
    if mode & 1 == 0 {
        let d: ZstdDictionary
        do { d = try ZstdDictionary(validating: rest) } catch let e as TributaryError {
            precondition(e.code == .invalidDictionary || e.code == .tooLarge, "validation threw \(e)")
            return
        } catch {
            preconditionFailure("validation threw a non-TributaryError: \(error)")
        }
        precondition(d.bytes.count <= ZstdDictionary.maxBytes, "accepted a dictionary over the limit")
        precondition(d.id == StreamingDigest.sha256Hex(rest) && d.zstdID != 0, "identity of an accepted dictionary")
        fuzzReadSegment(fuzzDictionarySegment, chunk: 1 << 30, dictionary: d)
    } else {
        fuzzReadSegment(rest, chunk: 4096, dictionary: fuzzTrainedDictionary)
    }
}

/// Sensor-like CSV files for the target's dictionary and segment.
private func fuzzCSV(_ i: Int) -> [UInt8] {
    var out = "time,station,temperature_c,humidity_pct\n"
    for j in 0..<30 { out += "\(1_795_000_000 + 3600 * j),station-\(i % 11),\((i * 7 + j * 13) % 40 - 5).\(j % 10),\(40 + (i + j * 3) % 60)\n" }
    return Array(out.utf8)
}

let fuzzTrainedDictionary: ZstdDictionary = {
    let files = (0..<200).map(fuzzCSV)
    guard let d = ZstdDictionary.train(samples: files.flatMap { $0 }, sizes: files.map(\.count), capacity: 4096) else {
        fatalError("the dictionary target cannot train its dictionary")
    }
    return d
}()

/// A segment of three files compressed with `fuzzTrainedDictionary`.
let fuzzDictionarySegment: [UInt8] = {
    struct Sink: ByteSink {
        var bytes: [UInt8] = []
        mutating func write(_ b: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: b) }
    }
    let files = (300..<303).map(fuzzCSV)
    let entries = files.enumerated().map { ManifestEntry(stream: "s", name: "f\($0.offset).csv", size: UInt64($0.element.count), sha256: StreamingDigest.sha256Hex($0.element)) }
    do {
        var w = try SegmentWriter(sink: Sink(), manifest: SegmentManifest(objects: entries), dictionary: fuzzTrainedDictionary)
        for f in files {
            _ = try w.beginObject()
            try f.withUnsafeBytes { try w.write($0) }
            try w.endObject()
        }
        return try w.finish().bytes
    } catch {
        fatalError("the dictionary target cannot build its segment: \(error)")
    }
}()
