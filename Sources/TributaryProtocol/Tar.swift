// POSIX tar (ustar with pax extended headers), as much of it as segments need: regular files,
// pax `path` and `size` records for long names and large members. Written by `Tar.encodeHeader`,
// read incrementally by `TarParser`, which never holds more than one 512-byte block plus
// a bounded pax header in memory.
//
// `TarParser` reads site bytes: it never traps, whatever it is fed. Numbers are parsed with
// overflow checks, pax records through a `ByteCursor`, and three ceilings of `ParserLimits`
// apply: `maxPaxRecordBytes` (one record), `maxPaxHeaderBytes` (all pax headers before one
// member) and `maxTrailingBytes` (zeros after the end-of-archive marker). Anything else that
// is not a regular file, a pax extended header or the end marker is refused (`corrupt_segment`).

/// One member's header.
public struct TarHeader: Sendable, Equatable {
    public var path: String
    public var size: UInt64
    public var mtime: UInt64

    public init(path: String, size: UInt64, mtime: UInt64 = 0) {
        self.path = path
        self.size = size
        self.mtime = mtime
    }
}

public enum Tar {
    public static let blockSize = 512

    /// Bytes of padding that follow `size` bytes of member data.
    public static func padding(for size: UInt64) -> Int {
        let r = Int(size % UInt64(blockSize))
        return r == 0 ? 0 : blockSize - r
    }

    /// The header block(s) for `header`: a pax extended header first when the path or size does
    /// not fit ustar's fields.
    public static func encodeHeader(_ header: TarHeader) -> [UInt8] {
        var out: [UInt8] = []
        let pathBytes = Array(header.path.utf8)
        let needsPaxPath = pathBytes.count > 100
        let needsPaxSize = header.size > 0o77777777777
        if needsPaxPath || needsPaxSize {
            var records: [UInt8] = []
            if needsPaxPath { records += paxRecord("path", header.path) }
            if needsPaxSize { records += paxRecord("size", String(header.size)) }
            out += ustarBlock(name: Array("PaxHeaders/member".utf8), size: UInt64(records.count), mtime: header.mtime, type: UInt8(ascii: "x"))
            out += records
            out += [UInt8](repeating: 0, count: padding(for: UInt64(records.count)))
        }
        let name = needsPaxPath ? Array(pathBytes.suffix(99)) : pathBytes
        out += ustarBlock(name: name, size: needsPaxSize ? 0 : header.size, mtime: header.mtime, type: UInt8(ascii: "0"))
        return out
    }

    /// The end-of-archive marker: two zero blocks.
    public static let endOfArchive = [UInt8](repeating: 0, count: 1024)

    private static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        // "%d %s=%s\n" where the length counts itself.
        let body = " \(key)=\(value)\n"
        var len = body.utf8.count + 1
        while String(len).utf8.count + body.utf8.count != len { len += 1 }
        return Array((String(len) + body).utf8)
    }

    private static func ustarBlock(name: [UInt8], size: UInt64, mtime: UInt64, type: UInt8) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: blockSize)
        func put(_ bytes: [UInt8], at offset: Int) {
            for (i, c) in bytes.enumerated() { b[offset + i] = c }
        }
        func octal(_ v: UInt64, width: Int) -> [UInt8] {
            let s = String(v, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - s.utf8.count)) + s).utf8) + [0]
        }
        put(Array(name.prefix(100)), at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(mtime, width: 12), at: 136)
        put([UInt8](repeating: 0x20, count: 8), at: 148)
        b[156] = type
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        let sum = b.reduce(0) { $0 + Int($1) }
        put(octal(UInt64(sum), width: 7) + [0x20], at: 148)
        return b
    }
}

/// An incremental tar reader: feed it bytes as they arrive, it calls back per member.
public struct TarParser {
    public protocol Delegate {
        mutating func tarMemberBegan(_ header: TarHeader) throws
        mutating func tarMemberData(_ bytes: UnsafeRawBufferPointer) throws
        mutating func tarMemberEnded() throws
    }

    private enum State {
        case header
        case pax(remaining: UInt64)
        case data(remaining: UInt64)
        case padding(remaining: Int, thenHeader: Bool)
        case end
    }

    private let limits: ParserLimits
    private var state: State = .header
    private var block: [UInt8] = []
    private var paxBuffer: [UInt8] = []
    private var paxPath: String?
    private var paxSize: UInt64?
    /// Bytes of pax headers read since the last member (bounded by `limits.maxPaxHeaderBytes`).
    private var paxBytesForMember: UInt64 = 0
    private var zeroBlocks = 0
    /// Bytes read after the end-of-archive marker (bounded by `limits.maxTrailingBytes`).
    private var trailingBytes = 0
    /// True once the two-zero-block end marker has been read.
    public var reachedEnd: Bool { if case .end = state { return true } else { return false } }

    public init(limits: ParserLimits = .default) {
        self.limits = limits
        block.reserveCapacity(Tar.blockSize)
    }

    public mutating func feed<D: Delegate>(_ input: UnsafeRawBufferPointer, into delegate: inout D) throws {
        var i = 0
        let n = input.count
        while i < n {
            switch state {
            case .header:
                let take = min(Tar.blockSize - block.count, n - i)
                block.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                if block.count == Tar.blockSize {
                    try headerBlockComplete(into: &delegate)
                    block.removeAll(keepingCapacity: true)
                }
            case .pax(let remaining):
                let take = Int(min(remaining, UInt64(n - i)))
                paxBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                let left = remaining - UInt64(take)
                if left == 0 {
                    try parsePax()
                    let pad = Tar.padding(for: UInt64(paxBuffer.count))
                    state = pad > 0 ? .padding(remaining: pad, thenHeader: true) : .header
                } else {
                    state = .pax(remaining: left)
                }
            case .data(let remaining):
                let take = Int(min(remaining, UInt64(n - i)))
                try delegate.tarMemberData(UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                let left = remaining - UInt64(take)
                state = .data(remaining: left)
                if left == 0 { try memberDataDone(into: &delegate) }
            case .padding(let remaining, let thenHeader):
                let take = min(remaining, n - i)
                i += take
                let left = remaining - take
                state = left > 0 ? .padding(remaining: left, thenHeader: thenHeader) : .header
            case .end:
                // Archivers pad the end to a record size with zeros; anything else is garbage,
                // and so is more than one record of zeros (a cheap decompression bomb).
                let take = n - i
                guard take <= limits.maxTrailingBytes - trailingBytes else {
                    throw TributaryError(
                        .corruptSegment, "more than \(limits.maxTrailingBytes) bytes after the tar end-of-archive marker")
                }
                for j in i..<n where input[j] != 0 {
                    throw TributaryError(.corruptSegment, "non-zero data after the tar end-of-archive marker")
                }
                trailingBytes += take
                i = n
            }
        }
    }

    private var currentSize: UInt64 = 0

    private mutating func memberDataDone<D: Delegate>(into delegate: inout D) throws {
        try delegate.tarMemberEnded()
        let pad = Tar.padding(for: currentSize)
        state = pad > 0 ? .padding(remaining: pad, thenHeader: true) : .header
    }

    private mutating func headerBlockComplete<D: Delegate>(into delegate: inout D) throws {
        if block.allSatisfy({ $0 == 0 }) {
            zeroBlocks += 1
            if zeroBlocks == 2 { state = .end }
            return
        }
        if zeroBlocks > 0 { throw TributaryError(.corruptSegment, "tar member after a zero block") }
        guard verifyChecksum() else { throw TributaryError(.corruptSegment, "tar header checksum mismatch") }
        let type = block[156]
        let size = try parseOctal(124, 12)
        switch type {
        case UInt8(ascii: "x"):
            // paxBytesForMember <= maxPaxHeaderBytes always holds, so the subtraction cannot wrap.
            guard size <= limits.maxPaxHeaderBytes - paxBytesForMember else {
                throw TributaryError(
                    .corruptSegment, "pax headers of more than \(limits.maxPaxHeaderBytes) bytes before one member")
            }
            paxBytesForMember += size
            paxBuffer.removeAll(keepingCapacity: true)
            state = size > 0 ? .pax(remaining: size) : .header
        case UInt8(ascii: "0"), 0:
            let path = paxPath ?? ustarPath()
            let realSize = paxSize ?? size
            paxPath = nil
            paxSize = nil
            paxBytesForMember = 0
            currentSize = realSize
            try delegate.tarMemberBegan(TarHeader(path: path, size: realSize, mtime: (try? parseOctal(136, 12)) ?? 0))
            if realSize == 0 {
                try memberDataDone(into: &delegate)
            } else {
                state = .data(remaining: realSize)
            }
        default:
            let c = Character(Unicode.Scalar(type))
            throw TributaryError(.corruptSegment, "unsupported tar member type '\(c)': segments hold regular files only")
        }
    }

    private func verifyChecksum() -> Bool {
        guard let stored = try? parseOctal(148, 8) else { return false }
        var sum: UInt64 = 0
        for (i, c) in block.enumerated() { sum += (148..<156).contains(i) ? 0x20 : UInt64(c) }
        return sum == stored
    }

    private func field(_ offset: Int, _ length: Int) -> ArraySlice<UInt8> {
        let f = block[offset..<(offset + length)]
        if let z = f.firstIndex(of: 0) { return f[offset..<z] }
        return f
    }

    private func parseOctal(_ offset: Int, _ length: Int) throws -> UInt64 {
        let f = block[offset..<(offset + length)]
        if let first = f.first, first & 0x80 != 0 {
            throw TributaryError(.corruptSegment, "base-256 tar numbers are not supported")
        }
        var v: UInt64 = 0
        var seen = false
        for c in f {
            if c == 0 || c == 0x20 { if seen { break } else { continue } }
            guard c >= 0x30 && c <= 0x37 else { throw TributaryError(.corruptSegment, "bad octal number in tar header") }
            seen = true
            let (m, o1) = v.multipliedReportingOverflow(by: 8)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
            guard !o1, !o2 else { throw TributaryError(.corruptSegment, "octal number overflow in tar header") }
            v = a
        }
        return v
    }

    private func ustarPath() -> String {
        let name = String(decoding: field(0, 100), as: UTF8.self)
        let isUstar = block[257..<262].elementsEqual("ustar".utf8)
        let prefix = isUstar ? String(decoding: field(345, 155), as: UTF8.self) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    /// Parses the pax records in `paxBuffer`: `"%d %s=%s\n"`, where the decimal length counts
    /// the whole record, its own digits and the newline included.
    private mutating func parsePax() throws {
        var cursor = ByteCursor(paxBuffer[...])
        let malformed = TributaryError(.corruptSegment, "malformed pax record")
        while !cursor.isAtEnd {
            let start = cursor.position
            // The length: at most as many digits as maxPaxRecordBytes has, then a space.
            let maxDigits = String(limits.maxPaxRecordBytes).utf8.count
            guard let digits = cursor.readUntil(0x20, limit: maxDigits + 1), let length = ByteCursor.decimal(digits)
            else { throw malformed }
            guard length <= limits.maxPaxRecordBytes else {
                throw TributaryError(.corruptSegment, "pax record of \(length) bytes exceeds \(limits.maxPaxRecordBytes)")
            }
            // What is left of the record after "<digits> ": at least "k=\n".
            let consumed = cursor.position - start
            guard length >= consumed + 3, let record = cursor.readSlice(length: length - consumed) else { throw malformed }
            guard record.last == 0x0a, let eq = record.firstIndex(of: UInt8(ascii: "=")), eq > record.startIndex else {
                throw malformed
            }
            let key = String(decoding: record[record.startIndex..<eq], as: UTF8.self)
            let value = record[(eq + 1)..<(record.endIndex - 1)]
            switch key {
            case "path": paxPath = String(decoding: value, as: UTF8.self)
            case "size":
                guard let s = ByteCursor.decimal(value, maxDigits: 19).map(UInt64.init) else {
                    throw TributaryError(.corruptSegment, "bad pax size")
                }
                paxSize = s
            default: break
            }
        }
    }
}
