/// What the core returns once an upload is committed (docs/PROTOCOL.md, "Receipt"). The same
/// receipt is served for the upload forever; the edge drops an object from its spool only when
/// a receipt lists it as `stored` or `duplicate`.
public struct CommitReceipt: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Bytes written to the lake by this upload.
        case stored
        /// The site already had this content in the lake; the arrival references the existing key.
        case duplicate
    }

    public struct Object: Codable, Sendable, Equatable {
        public var stream: String
        public var name: String
        public var sha256: String
        public var size: UInt64
        public var status: Status
        public var key: String

        public init(stream: String, name: String, sha256: String, size: UInt64, status: Status, key: String) {
            self.stream = stream
            self.name = name
            self.sha256 = sha256
            self.size = size
            self.status = status
            self.key = key
        }
    }

    public var uploadID: String
    public var site: String
    public var kind: UploadKind
    public var committedAt: String
    public var objects: [Object]
    /// The relay that submitted the upload on behalf of `site` (docs/REPLICATION.md); absent otherwise.
    public var relay: String?

    public init(uploadID: String, site: String, kind: UploadKind, committedAt: String, objects: [Object], relay: String? = nil) {
        self.uploadID = uploadID
        self.site = site
        self.kind = kind
        self.committedAt = committedAt
        self.objects = objects
        self.relay = relay
    }

    enum CodingKeys: String, CodingKey {
        case site, kind, objects, relay
        case uploadID = "upload_id"
        case committedAt = "committed_at"
    }
}

/// `POST /v1/have` request and response bodies.
public struct HaveRequest: Codable, Sendable, Equatable {
    public var sha256: [String]
    public init(sha256: [String]) { self.sha256 = sha256 }

    /// Decodes and checks a have-check body from a site: at most `limits.maxJSONBodyBytes`
    /// (`too_large`), JSON of this shape, at most `WireProtocol.maxHaveCheckHashes` hashes, each
    /// 64 lowercase hex digits (`invalid_body`).
    public static func parse(_ body: [UInt8], limits: ParserLimits = .default) throws -> HaveRequest {
        let r = try JSONBody.decode(HaveRequest.self, from: body, limits: limits)
        guard r.sha256.count <= WireProtocol.maxHaveCheckHashes else {
            throw TributaryError(.invalidBody, "at most \(WireProtocol.maxHaveCheckHashes) hashes per have-check")
        }
        if let bad = r.sha256.first(where: { !Hex.isSHA256($0) }) {
            throw TributaryError(.invalidBody, "'\(Names.printable(bad))' is not 64 lowercase hex digits")
        }
        return r
    }
}

/// The binary have-check (docs/PROTOCOL.md, "Have-check"): `Content-Type: application/octet-stream`,
/// the body the raw 32-byte sha256 digests back to back (32 bytes per hash instead of ~67 in JSON);
/// the answer a bitmap of ⌈n/8⌉ bytes, bit `i % 8` (least significant first) of byte `i / 8` set
/// when the site holds hash `i` (n/8 bytes instead of ~67 per held hash).
public enum BinaryHave {
    public static let contentType = "application/octet-stream"
    public static let digestBytes = 32

    /// The request body for `hashes` (each 64 lowercase hex digits; others are skipped by the caller).
    public static func encode(_ hashes: [String]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(hashes.count * digestBytes)
        for h in hashes { out += Hex.decode(h) ?? [] }
        return out
    }

    /// Decodes a request body from a site: at most `WireProtocol.maxHaveCheckHashes` digests and a
    /// length that is a multiple of 32 (`invalid_body` otherwise). Returns the hashes in hex.
    public static func parseRequest(_ body: [UInt8]) throws -> [String] {
        guard body.count % digestBytes == 0 else {
            throw TributaryError(.invalidBody, "a binary have-check body is a multiple of \(digestBytes) bytes (got \(body.count))")
        }
        let n = body.count / digestBytes
        guard n <= WireProtocol.maxHaveCheckHashes else {
            throw TributaryError(.invalidBody, "at most \(WireProtocol.maxHaveCheckHashes) hashes per have-check")
        }
        return (0..<n).map { Hex.encode(body[($0 * digestBytes)..<(($0 + 1) * digestBytes)]) }
    }

    /// The answer bitmap: bit i set when `held(i)`.
    public static func encodeAnswer(count: Int, held: (Int) -> Bool) -> [UInt8] {
        var bits = [UInt8](repeating: 0, count: (count + 7) / 8)
        for i in 0..<count where held(i) { bits[i / 8] |= UInt8(1) << UInt8(i % 8) }
        return bits
    }

    /// Decodes the core's answer to a request of `hashes`: exactly ⌈n/8⌉ bytes with the padding
    /// bits clear (`invalid_body` otherwise). Returns the hashes whose bit is set.
    public static func parseAnswer(_ body: [UInt8], hashes: [String]) throws -> Set<String> {
        guard body.count == (hashes.count + 7) / 8 else {
            throw TributaryError(.invalidBody, "a have-check answer for \(hashes.count) hashes has \((hashes.count + 7) / 8) bytes (got \(body.count))")
        }
        var out = Set<String>()
        for i in 0..<(body.count * 8) where body[i / 8] & (UInt8(1) << UInt8(i % 8)) != 0 {
            guard i < hashes.count else { throw TributaryError(.invalidBody, "a have-check answer sets a bit past its \(hashes.count) hashes") }
            out.insert(hashes[i])
        }
        return out
    }
}

public struct HaveResponse: Codable, Sendable {
    public var have: [String]
    public init(have: [String]) { self.have = have }
}

/// The JSON body of every error response: `{"error":"<code>","message":"…"}`.
public struct ErrorBody: Codable, Sendable {
    public var error: String
    public var message: String
    public init(error: String, message: String) {
        self.error = error
        self.message = message
    }
}

/// One object as both sides know it, for the compact receipt's digest.
public struct ReceiptEntry: Sendable, Equatable {
    public var stream: String
    public var name: String
    public var sha256: String
    public var size: UInt64
    public init(stream: String, name: String, sha256: String, size: UInt64) {
        self.stream = stream
        self.name = name
        self.sha256 = sha256
        self.size = size
    }
}

/// The compact form of a receipt (docs/PROTOCOL.md, "Compact receipts"), asked for with
/// `Tributary-Receipt: compact`: instead of one entry per object (~200 bytes each), a digest of
/// the objects the upload committed, their count, and the exceptions — the positions of the
/// objects that were `duplicate` rather than `stored`. The edge holds the same objects (it built
/// the upload) and expands the compact receipt against them (`expand`); when they differ it asks
/// for the full receipt instead, so a compact receipt can never acknowledge an object the core
/// did not name.
///
/// The digest is sha256 over the objects in canonical order — sorted by the UTF-8 bytes of
/// stream, then name, then sha256, then size — each as `stream NUL name NUL sha256 NUL size LF`
/// (size in decimal). Names and streams hold no NUL or LF (docs/PROTOCOL.md, "Names").
/// `duplicates` are indices into that canonical order, ascending.
public struct CompactReceipt: Codable, Sendable, Equatable {
    /// The value of `format`; another value is refused (a newer core must not be misread).
    public static let formatName = "compact-1"
    /// The most objects a compact receipt may count: a manifest's ceiling (`maxManifestEntries`).
    public static let maxObjects = ParserLimits.default.maxManifestEntries

    public var format: String
    public var uploadID: String
    public var site: String
    public var kind: UploadKind
    public var committedAt: String
    public var count: Int
    public var objectsSHA256: String
    public var duplicates: [Int]

    enum CodingKeys: String, CodingKey {
        case format, site, kind, count, duplicates
        case uploadID = "upload_id"
        case committedAt = "committed_at"
        case objectsSHA256 = "objects_sha256"
    }

    /// The compact form of a full receipt (the core's side).
    public init(_ r: CommitReceipt) {
        let entries = r.objects.map { ReceiptEntry(stream: $0.stream, name: $0.name, sha256: $0.sha256, size: $0.size) }
        let order = Self.canonicalOrder(entries)
        format = Self.formatName
        uploadID = r.uploadID
        site = r.site
        kind = r.kind
        committedAt = r.committedAt
        count = entries.count
        objectsSHA256 = Self.digest(entries, order: order)
        duplicates = order.indices.filter { r.objects[order[$0]].status == .duplicate }
    }

    /// Indices of `entries` in canonical order.
    public static func canonicalOrder(_ entries: [ReceiptEntry]) -> [Int] {
        entries.indices.sorted { a, b in
            let x = entries[a], y = entries[b]
            if x.stream != y.stream { return x.stream.utf8.lexicographicallyPrecedes(y.stream.utf8) }
            if x.name != y.name { return x.name.utf8.lexicographicallyPrecedes(y.name.utf8) }
            if x.sha256 != y.sha256 { return x.sha256.utf8.lexicographicallyPrecedes(y.sha256.utf8) }
            return x.size < y.size
        }
    }

    /// sha256 (hex) of `entries` taken in `order` (see the type's documentation).
    public static func digest(_ entries: [ReceiptEntry], order: [Int]) -> String {
        let d = StreamingDigest(.sha256)
        for i in order {
            let e = entries[i]
            d.update(Array("\(e.stream)\u{0}\(e.name)\u{0}\(e.sha256)\u{0}\(e.size)\n".utf8))
        }
        return d.finalizeHex()
    }

    /// Decodes a compact receipt from the core: at most `limits.maxJSONBodyBytes`, this shape,
    /// this `format`, a count within `maxObjects`, a 64-hex digest, duplicates strictly ascending
    /// and below the count (`invalid_body` otherwise).
    public static func parse(_ body: [UInt8], limits: ParserLimits = .default) throws -> CompactReceipt {
        let r = try JSONBody.decode(CompactReceipt.self, from: body, limits: limits)
        guard r.format == formatName else {
            throw TributaryError(.invalidBody, "compact receipt format '\(Names.printable(r.format))' is not \(formatName)")
        }
        guard r.count >= 0, r.count <= maxObjects else { throw TributaryError(.invalidBody, "compact receipt count \(r.count) is out of range") }
        guard Hex.isSHA256(r.objectsSHA256) else { throw TributaryError(.invalidBody, "objects_sha256 is not 64 lowercase hex digits") }
        var previous = -1
        for i in r.duplicates {
            guard i > previous, i < r.count else { throw TributaryError(.invalidBody, "duplicates must be ascending indices below count") }
            previous = i
        }
        return r
    }

    /// The full receipt this compact one stands for, given the objects the upload carried (the
    /// edge's side); nil when they are not the objects the core committed (count or digest
    /// differ) — then the full receipt must be fetched. The expanded entries carry no lake key
    /// (`key` is empty): the compact form leaves keys out.
    public func expand(_ entries: [ReceiptEntry]) -> CommitReceipt? {
        guard entries.count == count else { return nil }
        let order = Self.canonicalOrder(entries)
        guard Self.digest(entries, order: order) == objectsSHA256 else { return nil }
        var status = [CommitReceipt.Status](repeating: .stored, count: entries.count)
        for i in duplicates where i >= 0 && i < order.count { status[order[i]] = .duplicate }
        return CommitReceipt(
            uploadID: uploadID, site: site, kind: kind, committedAt: committedAt,
            objects: entries.indices.map {
                let e = entries[$0]
                return CommitReceipt.Object(stream: e.stream, name: e.name, sha256: e.sha256, size: e.size, status: status[$0], key: "")
            })
    }
}
