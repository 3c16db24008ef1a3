import TributaryProtocol

/// The rules of a bucket source, without I/O (edge/README.md, "S3 sources"):
///
/// - **Identity.** A version of a key is its ETag and size. A key is taken when it is not
///   remembered, or remembered with another ETag or size (overwritten). `LastModified` is not
///   compared: a rewrite with the same bytes keeps its ETag (and the core would count it a
///   duplicate anyway), and a listing's `LastModified` and a GET's `Last-Modified` are not in the
///   same format. What is remembered is the version actually fetched (the GET's ETag), so an
///   object overwritten between listing and fetch is not fetched twice.
/// - **Listing order.** Every poll lists the whole prefix, page by page in S3's lexicographic
///   order; nothing is skipped by a "start after" position. An object written "behind" the
///   position of an earlier listing is therefore found by the next poll, at most
///   `poll_seconds` later; the cost is one listing request per 1000 keys per poll (with
///   `after = "delete"` the bucket holds only what is not yet delivered).
/// - **Gone.** Keys remembered but absent from a complete listing are forgotten (the cursor does
///   not grow with deleted objects); a listing that failed part-way forgets nothing.
/// - **Mapping.** `prefix/<stream>/<name…>` (or everything to `stream`); keys ending in `/`
///   (folder markers) and keys with a component starting with `.` are skipped, as in the inbox.
///   A key whose stream or name is not valid, an object larger than the whole spool, or one that
///   failed `maxAttempts` times is set aside (remembered as refused with its reason, counted), and
///   taken again only when it changes.
/// - **Delete.** With `after = "delete"`, a key is deleted only when the journal says a receipt
///   named the version taken (`delivered`) and a HEAD just before the DELETE still answers that
///   ETag and size (compare-then-delete: the window is the one round trip between the two).
public struct S3SourcePlanner: Sendable {
    public enum Target: Sendable, Equatable {
        case object(stream: String, name: String)
        case skip
        case refuse(String)
    }

    public enum Decision: Sendable, Equatable {
        case take(stream: String, name: String)
        case refuse(String)
        /// Delivered, still the same version, `after = "delete"`: verify and delete.
        case delete
        case nothing
    }

    public let prefix: String
    public let streamFromPrefix: Bool
    public let stream: String
    public let after: S3SourceSettings.After
    public let maxObjectBytes: UInt64
    /// Failed fetches of one version before it is set aside.
    public static let maxAttempts = 5

    public init(prefix: String, streamFromPrefix: Bool, stream: String, after: S3SourceSettings.After, maxObjectBytes: UInt64) {
        self.prefix = prefix
        self.streamFromPrefix = streamFromPrefix
        self.stream = stream
        self.after = after
        self.maxObjectBytes = maxObjectBytes
    }

    public init(_ s: S3SourceSettings, maxObjectBytes: UInt64) {
        self.init(prefix: s.prefix, streamFromPrefix: s.streamFromPrefix, stream: s.stream, after: s.after, maxObjectBytes: maxObjectBytes)
    }

    /// The `prefix` query parameter of the listing.
    public var listPrefix: String { prefix.isEmpty ? "" : prefix + "/" }

    /// Where a key goes.
    public func target(_ key: String) -> Target {
        guard key.hasPrefix(listPrefix) else { return .skip }
        let rest = key.dropFirst(listPrefix.count)
        if rest.isEmpty || rest.hasSuffix("/") { return .skip }
        if rest.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.hasPrefix(".") }) { return .skip }
        var stream = self.stream
        var name = String(rest)
        if streamFromPrefix, let slash = rest.firstIndex(of: "/") {
            stream = String(rest[..<slash])
            name = String(rest[rest.index(after: slash)...])
        }
        do { try Names.validateStream(stream) } catch { return .refuse("stream '\(Names.printable(stream))': \(error)") }
        do { try Names.validateObjectName(name) } catch { return .refuse("name: \(error)") }
        return .object(stream: stream, name: name)
    }

    /// What to do with one listed object, given what the journal remembers of its key and how
    /// often fetching this version failed in this run.
    public func decide(_ o: S3ListedObject, remembered: RememberedSourceObject?, failures: Int) -> Decision {
        if let r = remembered, r.etag == o.etag, r.size == o.size {
            return r.state == .delivered && after == .delete ? .delete : .nothing
        }
        switch target(o.key) {
        case .skip: return .nothing
        case .refuse(let why): return .refuse(why)
        case .object(let stream, let name):
            if o.size > maxObjectBytes { return .refuse("\(o.size) bytes: larger than the whole spool (max_spool_bytes = \(maxObjectBytes))") }
            if failures >= Self.maxAttempts { return .refuse("fetching it failed \(failures) times") }
            return .take(stream: stream, name: name)
        }
    }

    /// Keys to forget after a complete listing: remembered, not listed.
    public func gone(remembered: some Sequence<String>, listed: Set<String>) -> [String] {
        remembered.filter { !listed.contains($0) }.sorted()
    }

    /// Whether the object found just before deleting is still the version delivered.
    public enum Verdict: Sendable, Equatable {
        case delete
        /// Already gone: forget the key.
        case forget
        /// Overwritten since: keep it (the next listing takes the new version).
        case keep
    }

    public static func verify(delivered: RememberedSourceObject, current: (etag: String, size: UInt64)?) -> Verdict {
        guard let c = current else { return .forget }
        return c.etag == delivered.etag && c.size == delivered.size ? .delete : .keep
    }
}
