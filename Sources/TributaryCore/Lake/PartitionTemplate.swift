import TributaryProtocol

/// The Hive-style partition part of a key.
///
/// The template holds `{stream}`, `{site}`, `{date}` (YYYY-MM-DD), `{year}`, `{month}`, `{day}`
/// and `{hour}` (UTC). Default: `stream={stream}/site={site}/date={date}`.
public struct PartitionTemplate: Sendable, Equatable {
    public static let `default` = PartitionTemplate(unchecked: "stream={stream}/site={site}/date={date}")
    public let template: String

    private init(unchecked: String) { template = unchecked }

    public init(_ template: String) throws {
        let allowed = ["{stream}", "{site}", "{date}", "{year}", "{month}", "{day}", "{hour}"]
        var rest = template
        for a in allowed { rest = rest.replacingOccurrences(a, with: "") }
        guard !template.isEmpty, !template.hasPrefix("/"), !template.hasSuffix("/"),
            !rest.contains("{"), !rest.contains("}"), !template.contains(".."), !template.hasPrefix("_tributary"),
            template.contains("{site}")
        else {
            throw TributaryError(.invalidMetadata, "partition template '\(template)' is not valid: it must contain {site} (dedup is per site) and may use {stream} {date} {year} {month} {day} {hour}, no leading or trailing '/'")
        }
        self.template = template
    }

    /// `capturedAt` is an RFC 3339 UTC string as formatted by `Timestamp.format`.
    public func partition(stream: String, site: String, capturedAtUTC: String) -> String {
        let date = String(capturedAtUTC.prefix(10))
        let parts = date.split(separator: "-").map(String.init)
        let hour = String(capturedAtUTC.dropFirst(11).prefix(2))
        return template
            .replacingOccurrences("{stream}", with: stream)
            .replacingOccurrences("{site}", with: site)
            .replacingOccurrences("{date}", with: date)
            .replacingOccurrences("{year}", with: parts.count == 3 ? parts[0] : "")
            .replacingOccurrences("{month}", with: parts.count == 3 ? parts[1] : "")
            .replacingOccurrences("{day}", with: parts.count == 3 ? parts[2] : "")
            .replacingOccurrences("{hour}", with: hour)
    }

    /// The full key of an object.
    ///
    /// The file name is `Names.lakeName` (sanitized, `.<sha256[0:16]>` before the extension); when
    /// that last component would exceed `maxComponentBytes` (255, the NAME_MAX of every common
    /// filesystem) its stem is cut to fit, keeping the tag and the extension, so the key still
    /// names the content uniquely and the same name always gives the same key (docs/LAKE.md,
    /// "Keys"). Sanitized components are ASCII, so the cut never splits a character.
    public func key(stream: String, site: String, capturedAtUTC: String, name: String, sha256: String) -> String {
        let tag = String(sha256.prefix(16))
        var parts = Names.lakeName(name, tag: tag).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if let last = parts.last, last.utf8.count > Self.maxComponentBytes {
            parts[parts.count - 1] = Self.shorten(last, tag: tag)
        }
        return partition(stream: stream, site: site, capturedAtUTC: capturedAtUTC) + "/" + parts.joined(separator: "/")
    }

    /// Longest key component a lake writes (NAME_MAX).
    public static let maxComponentBytes = 255

    /// Cuts the stem of `component` (`<stem>.<tag><ext>`) so the whole fits `maxComponentBytes`.
    static func shorten(_ component: String, tag: String) -> String {
        let bytes = Array(component.utf8)
        let marker = Array(("." + tag).utf8)
        // The tag marker's last occurrence: the stem may itself contain the same characters.
        var at: Int? = nil
        if bytes.count >= marker.count {
            var i = bytes.count - marker.count
            while i >= 0 {
                if Array(bytes[i..<(i + marker.count)]) == marker { at = i; break }
                i -= 1
            }
        }
        guard let at else { return String(decoding: bytes.prefix(maxComponentBytes), as: UTF8.self) }
        let suffix = bytes[at...]
        let keep = max(1, maxComponentBytes - suffix.count)
        return String(decoding: bytes[..<min(at, keep)] + suffix, as: UTF8.self)
    }
}

extension String {
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Index>? {
        guard !target.isEmpty, count >= target.count else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) {
                return i..<index(i, offsetBy: target.count)
            }
            i = index(after: i)
        }
        return nil
    }
}
