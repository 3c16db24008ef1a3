/// One object of an S3 ListObjectsV2 answer.
public struct S3ListedObject: Sendable, Equatable {
    public var key: String
    /// Without the surrounding quotes.
    public var etag: String
    public var size: UInt64
    /// As the store wrote it (ISO 8601), possibly empty.
    public var lastModified: String

    public init(key: String, etag: String, size: UInt64, lastModified: String) {
        self.key = key
        self.etag = etag
        self.size = size
        self.lastModified = lastModified
    }
}

/// One page of a ListObjectsV2 answer.
public struct S3ListPage: Sendable, Equatable {
    public var objects: [S3ListedObject] = []
    public var isTruncated = false
    public var nextContinuationToken: String?

    public init(objects: [S3ListedObject] = [], isTruncated: Bool = false, nextContinuationToken: String? = nil) {
        self.objects = objects
        self.isTruncated = isTruncated
        self.nextContinuationToken = nextContinuationToken
    }
}

/// A small, bounded parser for the `ListBucketResult` XML an S3-compatible store answers to
/// ListObjectsV2 (`GET /BUCKET?list-type=2`). The bucket is hostile input (another party may run it):
///
/// - Limits (`Limits`): the whole body (8 MiB), elements nested at most 8 deep, the text of one
///   element at most 8 KiB (raw, before entities are decoded), at most 1000 `Contents` per page
///   (S3's own page size; the edge asks for `max-keys=1000`), keys of 1–1024 UTF-8 bytes, ETags of
///   at most 256 bytes, sizes that fit in a `UInt64`.
/// - Accepted XML: an optional `<?xml …?>` prolog, elements with attributes (ignored), text with
///   the five predefined entities and numeric character references. Comments, CDATA, DOCTYPE and
///   processing instructions inside the document are refused (no store sends them; a DOCTYPE is
///   how entity-expansion attacks start).
/// - Unknown elements are skipped (their text still counts against the limits); a `Contents`
///   without `Key`, `ETag` or `Size`, a mismatched end tag, a root other than `ListBucketResult`,
///   or a body that ends inside the document is an error, never a partial page.
///
/// Errors are `TributaryError(.invalidBody)` naming what was wrong; the parser never traps.
public enum S3ListingParser {
    public struct Limits: Sendable {
        public var maxBodyBytes = 8 << 20
        public var maxDepth = 8
        public var maxTextBytes = 8 << 10
        public var maxObjects = 1000
        public var maxKeyBytes = 1024
        public var maxETagBytes = 256
        public init() {}
    }

    public static func parse(_ body: [UInt8], limits: Limits = Limits()) throws -> S3ListPage {
        guard body.count <= limits.maxBodyBytes else { throw fail("answer larger than \(limits.maxBodyBytes) bytes") }
        var parser = Parser(bytes: body, limits: limits)
        return try parser.run()
    }

    static func fail(_ why: String) -> TributaryError { TributaryError(.invalidBody, "ListObjectsV2 answer: \(why)") }

    private struct Parser {
        let bytes: [UInt8]
        let limits: Limits
        var i = 0
        var stack: [String] = []
        var text: [UInt8] = []
        var rootSeen = false
        var rootClosed = false
        var page = S3ListPage()
        var entry: [String: String] = [:]

        init(bytes: [UInt8], limits: Limits) {
            self.bytes = bytes
            self.limits = limits
        }

        mutating func run() throws -> S3ListPage {
            while i < bytes.count {
                if bytes[i] == UInt8(ascii: "<") {
                    try markup()
                } else {
                    try character()
                }
            }
            guard rootSeen && rootClosed else { throw fail("the document ends early (truncated?)") }
            return page
        }

        /// One byte of text: kept (bounded) inside an element, only white space outside.
        mutating func character() throws {
            let b = bytes[i]
            i += 1
            if stack.isEmpty {
                guard b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D else { throw fail("text outside the document element") }
                return
            }
            guard text.count < limits.maxTextBytes else { throw fail("an element's text is longer than \(limits.maxTextBytes) bytes") }
            text.append(b)
        }

        mutating func markup() throws {
            guard i + 1 < bytes.count else { throw fail("the document ends inside a tag") }
            let next = bytes[i + 1]
            if next == UInt8(ascii: "?") {
                // The prolog only: before the document element.
                guard !rootSeen, stack.isEmpty else { throw fail("a processing instruction inside the document") }
                guard let end = find([UInt8(ascii: "?"), UInt8(ascii: ">")], from: i + 2) else { throw fail("an unterminated <?…?>") }
                i = end + 2
                return
            }
            if next == UInt8(ascii: "!") { throw fail("comments, CDATA and DOCTYPE are not accepted") }
            if next == UInt8(ascii: "/") {
                i += 2
                let name = try readName()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ">") else { throw fail("a malformed end tag </\(name)") }
                i += 1
                guard let open = stack.last, open == name else { throw fail("end tag </\(name)> does not close <\(stack.last ?? "")>") }
                try close()
                return
            }
            i += 1
            let name = try readName()
            // Attributes are skipped; quoted values may hold '>' or '/'.
            var quote: UInt8? = nil
            var selfClosing = false
            while true {
                guard i < bytes.count else { throw fail("the document ends inside <\(name)") }
                let b = bytes[i]
                i += 1
                if let q = quote {
                    if b == q { quote = nil }
                } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                    quote = b
                } else if b == UInt8(ascii: ">") {
                    break
                } else if b == UInt8(ascii: "/"), i < bytes.count, bytes[i] == UInt8(ascii: ">") {
                    i += 1
                    selfClosing = true
                    break
                } else if b == UInt8(ascii: "<") {
                    throw fail("'<' inside the tag <\(name)")
                }
            }
            if stack.isEmpty {
                guard !rootSeen else { throw fail("a second document element <\(name)>") }
                guard name == "ListBucketResult" else { throw fail("the document element is <\(name)>, not <ListBucketResult>") }
                rootSeen = true
            }
            guard stack.count < limits.maxDepth else { throw fail("elements nested deeper than \(limits.maxDepth)") }
            stack.append(name)
            text.removeAll(keepingCapacity: true)
            if stack.count == 2 && name == "Contents" { entry = [:] }
            if selfClosing { try close() }
        }

        /// The innermost element ends: its text goes where the path says.
        mutating func close() throws {
            let depth = stack.count
            let name = stack[depth - 1]
            if depth == 3 && stack[1] == "Contents" && ["Key", "ETag", "Size", "LastModified"].contains(name) {
                guard entry[name] == nil else { throw fail("<\(name)> twice in one <Contents>") }
                entry[name] = try decoded()
            } else if depth == 2 && name == "Contents" {
                try addEntry()
            } else if depth == 2 && name == "IsTruncated" {
                let v = try decoded()
                guard v == "true" || v == "false" else { throw fail("<IsTruncated> is neither true nor false") }
                page.isTruncated = v == "true"
            } else if depth == 2 && name == "NextContinuationToken" {
                let v = try decoded()
                guard !v.isEmpty, v.utf8.count <= 1024 else { throw fail("<NextContinuationToken> is empty or longer than 1024 bytes") }
                page.nextContinuationToken = v
            }
            stack.removeLast()
            text.removeAll(keepingCapacity: true)
            if stack.isEmpty { rootClosed = true }
        }

        mutating func addEntry() throws {
            guard page.objects.count < limits.maxObjects else { throw fail("more than \(limits.maxObjects) objects in one page") }
            guard let key = entry["Key"], let etagText = entry["ETag"], let sizeText = entry["Size"] else {
                throw fail("a <Contents> without Key, ETag or Size")
            }
            guard !key.isEmpty, key.utf8.count <= limits.maxKeyBytes else { throw fail("a key of \(key.utf8.count) bytes (1–\(limits.maxKeyBytes))") }
            var etag = Substring(etagText)
            if etag.count >= 2, etag.first == "\"", etag.last == "\"" { etag = etag.dropFirst().dropLast() }
            guard !etag.isEmpty, etag.utf8.count <= limits.maxETagBytes, !etag.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw fail("an ETag that is empty, longer than \(limits.maxETagBytes) bytes or holds control characters")
            }
            guard let size = Self.decimal(sizeText) else { throw fail("<Size> '\(Names.printable(sizeText))' is not a size") }
            page.objects.append(S3ListedObject(key: key, etag: String(etag), size: size, lastModified: entry["LastModified"] ?? ""))
            entry = [:]
        }

        /// A non-negative decimal that fits in a UInt64.
        static func decimal(_ s: String) -> UInt64? {
            guard !s.isEmpty, s.utf8.count <= 20 else { return nil }
            var v: UInt64 = 0
            for c in s.utf8 {
                guard c >= 0x30 && c <= 0x39 else { return nil }
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
                guard !o1 && !o2 else { return nil }
                v = a
            }
            return v
        }

        /// The current text with entities decoded, as valid UTF-8.
        func decoded() throws -> String {
            var out: [UInt8] = []
            out.reserveCapacity(text.count)
            var j = 0
            while j < text.count {
                let b = text[j]
                guard b == UInt8(ascii: "&") else {
                    out.append(b)
                    j += 1
                    continue
                }
                guard let semi = text[j...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else { throw fail("an unterminated entity") }
                let name = text[(j + 1)..<semi]
                switch String(decoding: name, as: UTF8.self) {
                case "amp": out.append(UInt8(ascii: "&"))
                case "lt": out.append(UInt8(ascii: "<"))
                case "gt": out.append(UInt8(ascii: ">"))
                case "quot": out.append(UInt8(ascii: "\""))
                case "apos": out.append(UInt8(ascii: "'"))
                case let n where n.hasPrefix("#"):
                    let hex = n.hasPrefix("#x")
                    let digits = n.dropFirst(hex ? 2 : 1)
                    guard !digits.isEmpty, digits.count <= 8, let v = UInt32(digits, radix: hex ? 16 : 10),
                        let scalar = Unicode.Scalar(v), v != 0
                    else { throw fail("a bad character reference &\(Names.printable(n));") }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail("an unknown entity")
                }
                j = semi + 1
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw fail("text that is not UTF-8") }
            return s
        }

        mutating func readName() throws -> String {
            let start = i
            while i < bytes.count, i - start <= 64 {
                let c = bytes[i]
                let ok = (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
                    || c == UInt8(ascii: ":") || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
                guard ok else { break }
                i += 1
            }
            guard i > start, i - start <= 64 else { throw fail("a tag name that is empty or longer than 64 bytes") }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        }

        func find(_ needle: [UInt8], from: Int) -> Int? {
            var k = from
            while k + needle.count <= bytes.count {
                if bytes[k] == needle[0] && bytes[k + 1] == needle[1] { return k }
                k += 1
            }
            return nil
        }

        func fail(_ why: String) -> TributaryError { S3ListingParser.fail(why) }
    }
}
