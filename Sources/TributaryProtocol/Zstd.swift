import CZstd

/// Streaming zstd compression. Output is produced in bounded buffers and handed to `sink`; memory
/// stays constant whatever the input size.
public final class ZstdCompressor {
    private let cctx: OpaquePointer
    private var out: [UInt8]

    /// - Parameters:
    ///   - level: zstd level (1...19; 3 is zstd's default).
    ///   - checksum: append zstd's xxhash64 frame checksum so a decoder catches corruption.
    ///   - dictionary: compress with it (each frame records its `zstdID`).
    ///   - sizeHint: about how many bytes will be compressed. zstd then sizes its window and tables
    ///     to the input: without it a stream is assumed large, and level 19 allocates ~90 MiB of
    ///     tables (2^24 chain entries, 2^22 hash entries, an 8 MiB window) even for 30 KB.
    public init(level: Int32 = 3, checksum: Bool = true, dictionary: ZstdDictionary? = nil, sizeHint: UInt64? = nil) {
        guard let cctx = ZSTD_createCCtx() else { fatalError("ZSTD_createCCtx: out of memory") }
        self.cctx = cctx
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0)
        if let d = dictionary {
            let r = d.bytes.withUnsafeBytes { ZSTD_CCtx_loadDictionary(cctx, $0.baseAddress, $0.count) }
            // A validated dictionary loads unless memory is exhausted.
            if ZSTD_isError(r) != 0 { fatalError("ZSTD_CCtx_loadDictionary: \(String(cString: ZSTD_getErrorName(r)))") }
        }
        if dictionary != nil || sizeHint != nil {
            // With a dictionary and an unknown input size zstd assumes a tiny input and picks that
            // table's parameters (a 16 KiB window at level 19): a segment of many objects then
            // loses the matches between them. Keep the parameters of the level for the input's
            // size (unknown: the large-input row), not counting the dictionary.
            let p = ZSTD_getCParams(level, sizeHint.map { max($0, 1) } ?? 0, 0)
            ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, Int32(p.windowLog))
            ZSTD_CCtx_setParameter(cctx, ZSTD_c_chainLog, Int32(p.chainLog))
            ZSTD_CCtx_setParameter(cctx, ZSTD_c_hashLog, Int32(p.hashLog))
            ZSTD_CCtx_setParameter(cctx, ZSTD_c_searchLog, Int32(p.searchLog))
            ZSTD_CCtx_setParameter(cctx, ZSTD_c_minMatch, Int32(p.minMatch))
            ZSTD_CCtx_setParameter(cctx, ZSTD_c_targetLength, Int32(p.targetLength))
            ZSTD_CCtx_setParameter(cctx, ZSTD_c_strategy, Int32(p.strategy.rawValue))
        }
        self.out = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
    }

    deinit { ZSTD_freeCCtx(cctx) }

    /// The bytes zstd holds for this compressor (context, window, tables).
    public var memoryBytes: Int { ZSTD_sizeof_CCtx(cctx) }

    public func compress(_ input: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try run(input, mode: ZSTD_e_continue, sink: sink)
    }

    /// Ends the frame, flushing everything buffered.
    public func finish(sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try run(UnsafeRawBufferPointer(start: nil, count: 0), mode: ZSTD_e_end, sink: sink)
    }

    private func run(
        _ input: UnsafeRawBufferPointer, mode: ZSTD_EndDirective, sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        let outCount = out.count
        while true {
            var produced = 0
            let remaining: Int = try out.withUnsafeMutableBytes { buf in
                var outBuf = ZSTD_outBuffer(dst: buf.baseAddress, size: outCount, pos: 0)
                let r = ZSTD_compressStream2(cctx, &outBuf, &inBuf, mode)
                if ZSTD_isError(r) != 0 {
                    throw TributaryError(.io, "zstd compression failed: \(String(cString: ZSTD_getErrorName(r)))")
                }
                produced = outBuf.pos
                return r
            }
            if produced > 0 {
                try out.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0.prefix(produced))) }
            }
            let done = mode == ZSTD_e_continue ? inBuf.pos == inBuf.size : remaining == 0
            if done { return }
        }
    }
}

/// Streaming zstd decompression with a bounded window (a hostile frame cannot make it allocate
/// more than `2^windowLogMax` bytes). Concatenated frames are accepted.
///
/// Output is not bounded here: `decompress` keeps producing for as long as the frame says, so
/// the caller's `sink` counts what it receives and throws at its ceiling (`SegmentReader` against
/// `ParserLimits.maxDecodedBytes`, the core's object commit against `max_decoded_bytes`); the
/// throw stops decompression at once. Corrupt input is `corrupt_compression`, never a trap.
public final class ZstdDecompressor {
    private let dctx: OpaquePointer
    private var out: [UInt8]
    /// True when the last byte consumed completed a frame.
    public private(set) var atFrameBoundary = true
    public private(set) var sawInput = false

    /// With `dictionary`, frames are decoded with it; a frame that names another dictionary
    /// (or names one when none is given) is `corrupt_compression`.
    public init(windowLogMax: Int32 = 27, dictionary: ZstdDictionary? = nil) {
        guard let dctx = ZSTD_createDCtx() else { fatalError("ZSTD_createDCtx: out of memory") }
        self.dctx = dctx
        ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, windowLogMax)
        if let d = dictionary {
            let r = d.bytes.withUnsafeBytes { ZSTD_DCtx_loadDictionary(dctx, $0.baseAddress, $0.count) }
            if ZSTD_isError(r) != 0 { fatalError("ZSTD_DCtx_loadDictionary: \(String(cString: ZSTD_getErrorName(r)))") }
        }
        self.out = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
    }

    deinit { ZSTD_freeDCtx(dctx) }

    public func decompress(_ input: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard input.count > 0 else { return }
        sawInput = true
        var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        let outCount = out.count
        while true {
            var produced = 0
            let hint: Int = try out.withUnsafeMutableBytes { buf in
                var outBuf = ZSTD_outBuffer(dst: buf.baseAddress, size: outCount, pos: 0)
                let r = ZSTD_decompressStream(dctx, &outBuf, &inBuf)
                if ZSTD_isError(r) != 0 {
                    throw TributaryError(
                        .corruptCompression, "corrupt zstd data: \(String(cString: ZSTD_getErrorName(r)))")
                }
                produced = outBuf.pos
                return r
            }
            atFrameBoundary = hint == 0
            if produced > 0 {
                try out.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0.prefix(produced))) }
            }
            // Input consumed and the output buffer was not filled: nothing more to flush now.
            // zstd returns 0 only when a frame is fully decoded and flushed; calling it again then
            // would start a new (empty) frame and lose the boundary.
            if inBuf.pos == inBuf.size && (produced < outCount || hint == 0) { return }
        }
    }

    /// Call at end of input: throws if the data stopped inside a frame (truncated) or was empty.
    public func finish() throws {
        guard sawInput else { throw TributaryError(.corruptCompression, "empty zstd stream") }
        guard atFrameBoundary else { throw TributaryError(.corruptCompression, "truncated zstd stream") }
    }
}
