import HTTPTypes
import Hummingbird
import TributaryProtocol
import TributarySQLite

/// The one place where an error becomes an HTTP status (docs/PROTOCOL.md, "Errors"; a unit test
/// reads that table and compares it with `documentedPairs`). Domain types throw errors with a
/// code and no status (`DomainError`, `TributaryError`, `LimitRefusal`, the catalog's
/// `SiteExistsError`…); `CoreError.from` maps them through here.
enum ErrorMapping {
    /// The status of each code. A `TributaryError` code not listed is a validation failure (422).
    static let statuses: [TributaryError.Code: HTTPResponse.Status] = [
        .badRequest: .badRequest, .badReport: .badRequest, .invalidMetadata: .badRequest, .invalidName: .badRequest,
        .invalidStream: .badRequest, .invalidTimestamp: .badRequest, .unsupportedKind: .badRequest, .unsupportedEncoding: .badRequest,
        .unsupportedChecksum: .badRequest, .badSubject: .badRequest, .badFingerprint: .badRequest,
        .unauthorized: .unauthorized,
        .forbidden: .forbidden, .notARelay: .forbidden, .relayNotPermitted: .forbidden,
        .notFound: .notFound,
        .offsetMismatch: .conflict, .uploadBusy: .conflict, .notCommitted: .conflict, .alreadyCommitted: .conflict, .siteExists: .conflict,
        .unknownDictionary: .conflict,
        .credentialExists: .conflict,
        .expired: .gone,
        .unsupportedVersion: .preconditionFailed,
        .tooLarge: .contentTooLarge,
        .unsupportedMediaType: .unsupportedMediaType,
        .checksumMismatch: .unprocessableContent, .sizeMismatch: .unprocessableContent, .corruptCompression: .unprocessableContent,
        .corruptSegment: .unprocessableContent, .manifestMismatch: .unprocessableContent, .duplicateName: .unprocessableContent,
        .unknownReference: .unprocessableContent, .invalidDictionary: .unprocessableContent, .unplaceable: .unprocessableContent, .quarantined: .unprocessableContent,
        .internal: .internalServerError,
        .unavailable: .serviceUnavailable, .recovering: .serviceUnavailable, .catalogUnavailable: .serviceUnavailable,
        .lakeUnavailable: .serviceUnavailable,
    ]

    /// A PATCH chunk that does not match its `Upload-Checksum` (tus checksum extension): the
    /// same code as a commit's mismatch, the protocol's own status.
    static let chunkChecksumStatus = HTTPResponse.Status(code: WireProtocol.checksumMismatchStatus, reasonPhrase: "Checksum Mismatch")

    static func status(_ code: TributaryError.Code) -> HTTPResponse.Status { statuses[code] ?? .unprocessableContent }

    /// Headers every answer with this code carries.
    static func headers(_ code: TributaryError.Code) -> HTTPFields {
        switch code {
        case .unauthorized: return [.wwwAuthenticate: "Bearer realm=\"tributary\""]
        case .unavailable, .catalogUnavailable, .lakeUnavailable: return [.retryAfter: "5"]
        case .recovering: return [.retryAfter: "2"]
        case .unsupportedVersion: return [TusHeader.tusVersion: WireProtocol.tusVersion]
        default: return [:]
        }
    }

    /// A limit's refusal: 429 with `Retry-After` when waiting helps; a request too big for the
    /// limit itself 413 (`staged_quota`) or 400 (`metadata_too_large`); a slow body 408.
    static func status(_ refusal: LimitRefusal) -> HTTPResponse.Status {
        switch refusal.kind {
        case .metadataTooLarge: return .badRequest
        case .tooSlow: return .requestTimeout
        case .stagedQuota where refusal.retryAfter == nil: return .contentTooLarge
        default: return .tooManyRequests
        }
    }

    /// Every (status, code) the core answers with, for the documentation test.
    static var documentedPairs: Set<String> {
        var out = Set(statuses.map { "\($0.value.code) \($0.key.rawValue)" })
        for kind in LimitRefusal.Kind.allCases {
            for retry in [nil, 1] as [Int?] { out.insert("\(status(LimitRefusal(kind, "", retryAfter: retry)).code) \(kind.rawValue)") }
        }
        out.insert("\(chunkChecksumStatus.code) \(TributaryError.Code.checksumMismatch.rawValue)")
        return out
    }
}
