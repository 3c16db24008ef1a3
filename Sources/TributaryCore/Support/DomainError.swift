import TributaryProtocol

/// A refusal decided by the core's domain types (the upload registry, the site registry, the
/// committer, report validation): a stable code and a message, no HTTP. `ErrorMapping` turns it,
/// like every other error, into a status (HTTP/ErrorMapping.swift); the CLI shows its message.
public struct DomainError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: TributaryError.Code
    public var message: String

    public init(_ code: TributaryError.Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    static func noUpload(_ id: String) -> DomainError { DomainError(.notFound, "no upload \(Names.printable(id))") }
    static func noSite(_ site: String) -> DomainError { DomainError(.notFound, "no site '\(Names.printable(site))'") }
}

/// The core's error codes besides the shared ones of `TributaryError.Code` (docs/PROTOCOL.md,
/// "Errors"). Their statuses are in `ErrorMapping.statuses`.
extension TributaryError.Code {
    public static let badRequest = Self(rawValue: "bad_request")
    /// A heartbeat body that is JSON of the right shape but not a valid report.
    public static let badReport = Self(rawValue: "bad_report")
    public static let badSubject = Self(rawValue: "bad_subject")
    public static let badFingerprint = Self(rawValue: "bad_fingerprint")
    public static let unsupportedChecksum = Self(rawValue: "unsupported_checksum")
    public static let unauthorized = Self(rawValue: "unauthorized")
    public static let forbidden = Self(rawValue: "forbidden")
    /// A site that is not a relay names another site or states `received-at` (Catalog/RelayGrant.swift).
    public static let notARelay = Self(rawValue: "not_a_relay")
    /// A relay names a site its list does not permit.
    public static let relayNotPermitted = Self(rawValue: "relay_not_permitted")
    public static let notFound = Self(rawValue: "not_found")
    /// A forwarded upload whose path already holds this core (Forward/CorePath.swift).
    public static let forwardLoop = Self(rawValue: "forward_loop")
    public static let offsetMismatch = Self(rawValue: "offset_mismatch")
    public static let uploadBusy = Self(rawValue: "upload_busy")
    public static let notCommitted = Self(rawValue: "not_committed")
    public static let alreadyCommitted = Self(rawValue: "already_committed")
    public static let siteExists = Self(rawValue: "site_exists")
    public static let credentialExists = Self(rawValue: "credential_exists")
    public static let expired = Self(rawValue: "expired")
    public static let unsupportedVersion = Self(rawValue: "unsupported_version")
    public static let unsupportedMediaType = Self(rawValue: "unsupported_media_type")
    /// The upload's objects cannot be placed in the lake for a reason retrying cannot fix (a key
    /// the store refuses): the upload is discarded.
    public static let unplaceable = Self(rawValue: "unplaceable")
    /// The upload was set aside after its commit crashed the node or kept failing.
    public static let quarantined = Self(rawValue: "quarantined")
    public static let `internal` = Self(rawValue: "internal")
    /// Storage or catalog failing for now (what `io_error` is told as).
    public static let unavailable = Self(rawValue: "unavailable")
    /// `/readyz` during start-up recovery, and when the catalog or the lake does not answer.
    public static let recovering = Self(rawValue: "recovering")
    public static let catalogUnavailable = Self(rawValue: "catalog_unavailable")
    public static let lakeUnavailable = Self(rawValue: "lake_unavailable")
}
