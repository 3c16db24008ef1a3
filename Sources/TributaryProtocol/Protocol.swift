// The wire contract between `tributary-edge` and `tributary-core`.
//
// Uploads speak tus 1.0.0 (https://tus.io/protocols/resumable-upload) at `/v1/uploads`
// with the extensions creation, checksum (sha256, sha1), termination and expiration.
// docs/PROTOCOL.md is the user-facing version of this file; keep the two in step.
//
// Invariants both sides rely on:
// - An upload's bytes are immutable once created: a resumed upload sends exactly the bytes it
//   would have sent the first time, so the core may append at the durable offset it reports.
// - `HEAD` reports only bytes that are fsync'd on the core: a client resuming from that offset
//   never leaves a hole.
// - The final `PATCH` answers 204 only after the whole upload is validated and committed
//   (lake bytes fsync'd, catalog transaction committed). Its `Upload-Receipt` header and
//   `GET` on the upload URL then return the same receipt forever.
// - An object leaves the edge spool only after a receipt names it `stored` or `duplicate`.
// - Committing the same upload twice changes nothing (idempotent by upload id).

/// Constants of the wire protocol.
public enum WireProtocol {
    public static let tusVersion = "1.0.0"
    public static let tusExtensions = ["creation", "checksum", "termination", "expiration"]
    public static let checksumAlgorithms = ["sha256", "sha1"]

    public static let uploadsPath = "/v1/uploads"
    public static let havePath = "/v1/have"
    public static let heartbeatPath = "/v1/heartbeat"
    public static let sitesPath = "/v1/sites"
    /// `PUT /v1/dictionaries/<sha256>`: a site's zstd dictionary, content-addressed (docs/PROTOCOL.md, "Dictionaries").
    public static let dictionariesPath = "/v1/dictionaries"

    /// `Content-Type` of a tus `PATCH` body.
    public static let offsetOctetStream = "application/offset+octet-stream"
    /// Status returned when a chunk's `Upload-Checksum` does not match (tus checksum extension).
    public static let checksumMismatchStatus = 460

    /// The most sha256 values one have-check request may carry.
    public static let maxHaveCheckHashes = 10_000

    /// Request header of an edge that wants the receipt in the answer to the PATCH that commits
    /// (`200` with the receipt as body instead of `204`), and of a receipt GET that wants the
    /// compact form: `compact` (`CompactReceipt`) or `full` (`CommitReceipt`). Older edges do not
    /// send it and get the tus answers as before (docs/PROTOCOL.md, "Receipt").
    public static let receiptHeader = "Tributary-Receipt"
}

/// The receipt forms an edge may ask for with `Tributary-Receipt`.
public enum ReceiptForm: String, Sendable, CaseIterable {
    case full
    case compact
}

/// Keys of the tus `Upload-Metadata` header that Tributary understands.
public enum MetadataKey {
    /// Object name, relative (`dir/file.csv`). Required for `kind=object`.
    public static let name = "name"
    /// Stream the object belongs to. Required for `kind=object`.
    public static let stream = "stream"
    /// `object` (default) or `segment`.
    public static let kind = "kind"
    /// `identity` (default) or `zstd`: how the upload body is encoded.
    public static let encoding = "encoding"
    /// Lowercase hex sha256. For `kind=object`: of the object's decoded bytes.
    /// For `kind=segment`: of the upload body (the `.tar.zst` file).
    public static let sha256 = "sha256"
    /// RFC 3339 instant the object was captured. Default: the time the core received it.
    public static let capturedAt = "captured-at"
    /// The site the upload is submitted on behalf of; only a relay (a downstream core registered
    /// with `sites add --relay`) may name another site than its own (docs/REPLICATION.md).
    public static let site = "site"
    /// RFC 3339 instant the original core received the upload's objects; relays only.
    public static let receivedAt = "received-at"
    /// Lowercase hex sha256 of the zstd dictionary a segment is compressed with (`kind=segment`
    /// only; the core must hold it, else `409 unknown_dictionary` — docs/PROTOCOL.md, "Dictionaries").
    public static let dictionary = "dictionary"
    /// Common tus client keys that are accepted and ignored.
    public static let ignored: Set<String> = ["filename", "filetype", "type", "content-type"]
}

/// What an upload carries.
public enum UploadKind: String, Sendable, Codable, CaseIterable {
    /// One object; the body is the object's bytes, optionally zstd-compressed.
    case object
    /// A Tributary segment: zstd-compressed tar with a manifest first (see `Segment.swift`).
    case segment
}

/// How an upload body is encoded on the wire.
public enum UploadEncoding: String, Sendable, Codable, CaseIterable {
    case identity
    case zstd
}
