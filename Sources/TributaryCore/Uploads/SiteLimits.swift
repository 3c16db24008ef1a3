/// Per-site quotas and fairness limits of one core node (docs/PROTOCOL.md, "Limits"). Every
/// value is a configuration key (`core/tributary-core.toml`); the defaults suit a node serving a
/// few hundred sites.
///
/// What each refusal answers (always a JSON error body; `Retry-After` on every 429):
///
/// | limit | status | code |
/// |---|---|---|
/// | `max_open_uploads_per_site` open uploads of one site on this node | 429 | `too_many_uploads` |
/// | `max_staged_bytes_per_site` declared `Upload-Length` of a site's open uploads | 429 (413 if one upload alone exceeds it) | `staged_quota` |
/// | `max_staged_bytes` declared bytes of all open uploads on this node | 429 | `staging_full` |
/// | `min_free_bytes` free space the staging filesystem keeps after every open upload completes | 429 | `staging_full` |
/// | `max_metadata_bytes` size of the `Upload-Metadata` header, ignored keys included | 400 | `metadata_too_large` |
/// | `creations_per_second` (+ burst) upload creations per site | 429 | `rate_limited` |
/// | `heartbeats_per_second` (+ burst) heartbeats per site | 429 | `rate_limited` |
/// | `max_requests_per_site` requests of one site in progress at once | 429 | `too_many_requests` |
/// | `min_body_bytes_per_second` after `body_rate_grace_seconds` a PATCH body slower than this is cut | 408 | `too_slow` |
///
/// Quota refusals are counted per site by code in the fleet view (`rejections`). Counts are per
/// node: several nodes behind one load balancer each enforce them on what they serve.
public struct SiteLimits: Sendable, Equatable {
    /// Open (created, not yet committed, terminated or expired) uploads of one site. Default 64.
    public var maxOpenUploadsPerSite: Int = 64
    /// Sum of `Upload-Length` of one site's open uploads. Default 32 GiB (two of the largest uploads).
    public var maxStagedBytesPerSite: UInt64 = 32 << 30
    /// Sum of `Upload-Length` of every open upload on the node. Default 256 GiB.
    public var maxStagedBytes: UInt64 = 256 << 30
    /// Free bytes the staging filesystem must keep after all open uploads are written. Default 1 GiB.
    public var minFreeBytes: UInt64 = 1 << 30
    /// Largest `Upload-Metadata` header. Default 8 KiB (a 1024-byte name in base64 is ~1.4 KiB).
    public var maxMetadataBytes: Int = 8192
    /// Upload creations per site per second, sustained. Default 50.
    public var creationsPerSecond: Double = 50
    /// Creations a site may make at once before the rate applies. Default 200.
    public var creationBurst: Double = 200
    /// Heartbeats per site per second, sustained. Default 2.
    public var heartbeatsPerSecond: Double = 2
    /// Heartbeats a site may send at once before the rate applies. Default 20.
    public var heartbeatBurst: Double = 20
    /// Requests of one site in progress at once on this node. Default 32.
    public var maxRequestsPerSite: Int = 32
    /// A PATCH body must average at least this many bytes per second once
    /// `bodyRateGraceSeconds` have passed, or it is cut (its durable offset stays). Default 256.
    public var minBodyBytesPerSecond: Double = 256
    /// Time a PATCH body may take before the minimum rate applies. Default 30 s.
    public var bodyRateGraceSeconds: Double = 30

    public init() {}
}

/// A site's current use of the node, as the registry counts it.
public struct SiteUsage: Sendable, Equatable {
    public var openUploads = 0
    public var stagedBytes: UInt64 = 0
    public init(openUploads: Int = 0, stagedBytes: UInt64 = 0) {
        self.openUploads = openUploads
        self.stagedBytes = stagedBytes
    }
}

/// Why a request is refused by a limit: its code, and whether waiting helps (`ErrorMapping` picks the status).
public struct LimitRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case tooManyUploads = "too_many_uploads"
        case stagedQuota = "staged_quota"
        case stagingFull = "staging_full"
        case metadataTooLarge = "metadata_too_large"
        case rateLimited = "rate_limited"
        case tooManyRequests = "too_many_requests"
        case tooSlow = "too_slow"
    }

    public var kind: Kind
    public var message: String
    /// Seconds the client should wait; nil when waiting cannot help (the request itself is too big).
    public var retryAfter: Int?

    public init(_ kind: Kind, _ message: String, retryAfter: Int?) {
        self.kind = kind
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

extension SiteLimits {
    /// Whether a site may create an upload of `length` bytes now. Pure: the caller supplies the
    /// site's and the node's usage and the staging filesystem's free bytes.
    ///
    /// Free space: the node must keep `minFreeBytes` after every open upload is completely
    /// written, so the bytes still to come of open uploads (`unwrittenBytes`) count as used.
    public func admitCreation(
        length: UInt64, site: SiteUsage, nodeStagedBytes: UInt64, unwrittenBytes: UInt64, freeBytes: UInt64
    ) -> LimitRefusal? {
        if length > maxStagedBytesPerSite {
            return LimitRefusal(
                .stagedQuota, "Upload-Length \(length) exceeds the per-site staging quota of \(maxStagedBytesPerSite) bytes", retryAfter: nil)
        }
        if site.openUploads >= maxOpenUploadsPerSite {
            return LimitRefusal(
                .tooManyUploads, "the site has \(site.openUploads) open uploads on this node, the limit is \(maxOpenUploadsPerSite)",
                retryAfter: 30)
        }
        let (siteTotal, o1) = site.stagedBytes.addingReportingOverflow(length)
        if o1 || siteTotal > maxStagedBytesPerSite {
            return LimitRefusal(
                .stagedQuota, "the site's open uploads would declare more than \(maxStagedBytesPerSite) bytes; finish or terminate some first",
                retryAfter: 30)
        }
        let (nodeTotal, o2) = nodeStagedBytes.addingReportingOverflow(length)
        if o2 || nodeTotal > maxStagedBytes {
            return LimitRefusal(.stagingFull, "this node's staging is full; retry later", retryAfter: 60)
        }
        let (needed, o3) = unwrittenBytes.addingReportingOverflow(length)
        let (withHeadroom, o4) = needed.addingReportingOverflow(minFreeBytes)
        if o3 || o4 || withHeadroom > freeBytes {
            return LimitRefusal(.stagingFull, "this node's staging disk is nearly full; retry later", retryAfter: 60)
        }
        return nil
    }

    /// Whether a PATCH body that has delivered `bytes` in `elapsed` seconds is too slow to keep.
    public func bodyTooSlow(bytes: UInt64, elapsed: Double) -> Bool {
        guard elapsed > bodyRateGraceSeconds else { return false }
        return Double(bytes) < minBodyBytesPerSecond * elapsed
    }
}

/// A token bucket: `rate` tokens per second up to `burst`. Pure; the caller passes the time.
public struct TokenBucket: Sendable, Equatable {
    public let rate: Double
    public let burst: Double
    public private(set) var tokens: Double
    public private(set) var updatedAt: Double

    public init(rate: Double, burst: Double, now: Double) {
        self.rate = rate
        self.burst = max(1, burst)
        self.tokens = max(1, burst)
        self.updatedAt = now
    }

    /// Takes one token if there is one; otherwise returns the seconds until there will be.
    public mutating func take(now: Double) -> Double? {
        if now > updatedAt {
            tokens = min(burst, tokens + (now - updatedAt) * rate)
            updatedAt = now
        }
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return rate > 0 ? (1 - tokens) / rate : .infinity
    }
}
