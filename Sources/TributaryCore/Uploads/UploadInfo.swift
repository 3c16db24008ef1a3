#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

/// What the core knows about an upload from its creation request; immutable, persisted as
/// `staging/<id>/info.json`.
public struct UploadInfo: Codable, Sendable, Equatable {
    public var id: String
    public var site: String
    public var length: UInt64
    public var kind: UploadKind
    public var encoding: UploadEncoding
    public var name: String?
    public var stream: String?
    public var sha256: String?
    public var capturedAt: String?
    /// The site the upload lands under when a relay submits it on behalf of another site
    /// (`OnBehalfOf.owner` decides); nil: the submitting site's own.
    public var onBehalfOf: String?
    /// The original core's receive time, stated by a relay (docs/REPLICATION.md).
    public var receivedAt: String?
    /// sha256 of the zstd dictionary a segment is compressed with (docs/PROTOCOL.md, "Dictionaries").
    public var dictionary: String?
    /// The `Upload-Metadata` header as received, echoed by HEAD.
    public var metadataHeader: String
    public var createdAt: Date
    public var expiresAt: Date

    /// The site whose partitions, dedup set and counters the upload's objects go to.
    public var owner: String { onBehalfOf ?? site }

    /// Validates creation metadata. Everything that can be checked before a byte is sent is.
    public static func fromMetadata(
        _ metadata: UploadMetadata, header: String, id: String, site: String, length: UInt64, now: Date, expiry: Duration
    ) throws -> UploadInfo {
        let known: Set<String> = [
            MetadataKey.name, MetadataKey.stream, MetadataKey.kind, MetadataKey.encoding, MetadataKey.sha256, MetadataKey.capturedAt,
            MetadataKey.site, MetadataKey.receivedAt, MetadataKey.dictionary,
        ]
        for key in metadata.values.keys.sorted() where !known.contains(key) && !MetadataKey.ignored.contains(key) {
            throw TributaryError(.invalidMetadata, "unknown Upload-Metadata key '\(Names.printable(key))'")
        }
        let kindValue = metadata[MetadataKey.kind] ?? UploadKind.object.rawValue
        guard let kind = UploadKind(rawValue: kindValue) else {
            throw TributaryError(.unsupportedKind, "kind '\(Names.printable(kindValue))' is not supported (object, segment)")
        }
        let encodingValue = metadata[MetadataKey.encoding] ?? (kind == .segment ? "zstd" : "identity")
        guard let encoding = UploadEncoding(rawValue: encodingValue) else {
            throw TributaryError(.unsupportedEncoding, "encoding '\(Names.printable(encodingValue))' is not supported (identity, zstd)")
        }
        if kind == .segment && encoding != .zstd {
            throw TributaryError(.unsupportedEncoding, "segments are always zstd-compressed")
        }
        var name: String?
        var stream: String?
        if kind == .object {
            guard let n = metadata[MetadataKey.name] else { throw TributaryError(.invalidName, "metadata 'name' is required for an object") }
            guard let s = metadata[MetadataKey.stream] else { throw TributaryError(.invalidStream, "metadata 'stream' is required for an object") }
            try Names.validateObjectName(n)
            try Names.validateStream(s)
            name = n
            stream = s
        }
        if let h = metadata[MetadataKey.sha256], !Hex.isSHA256(h) {
            throw TributaryError(.invalidMetadata, "metadata 'sha256' must be 64 lowercase hex digits")
        }
        var capturedAt: String?
        if let c = metadata[MetadataKey.capturedAt] {
            guard kind == .object else { throw TributaryError(.invalidMetadata, "'captured-at' applies to objects; segment entries carry their own") }
            capturedAt = Timestamp.format(try Timestamp.parse(c))
        }
        if let d = metadata[MetadataKey.dictionary] {
            guard kind == .segment else { throw TributaryError(.invalidMetadata, "'dictionary' applies to segments") }
            guard Hex.isSHA256(d) else { throw TributaryError(.invalidMetadata, "metadata 'dictionary' must be 64 lowercase hex digits") }
        }
        if let claimed = metadata[MetadataKey.site] { try Names.validateSite(claimed) }
        let receivedAt = try metadata[MetadataKey.receivedAt].map { Timestamp.format(try Timestamp.parse($0)) }
        return UploadInfo(
            id: id, site: site, length: length, kind: kind, encoding: encoding, name: name, stream: stream,
            sha256: metadata[MetadataKey.sha256], capturedAt: capturedAt,
            onBehalfOf: metadata[MetadataKey.site].flatMap { $0 == site ? nil : $0 }, receivedAt: receivedAt,
            dictionary: metadata[MetadataKey.dictionary], metadataHeader: header,
            createdAt: now, expiresAt: now.addingTimeInterval(Double(expiry.components.seconds)))
    }
}
