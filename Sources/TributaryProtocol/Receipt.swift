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
