import TributaryProtocol

/// The Hive-style partition part of a key.
///
/// The template holds `{stream}`, `{site}`, `{date}` (YYYY-MM-DD), `{year}`, `{month}`, `{day}`
/// and `{hour}` (UTC). Default: `stream={stream}/site={site}/date={date}`.
///
/// The template is split into its pieces once, when it is made; `partition` and `key` (called for
/// every object of every commit) only append bytes.
public struct PartitionTemplate: Sendable, Equatable {
    public static let `default` = PartitionTemplate(unchecked: "stream={stream}/site={site}/date={date}")
    public let template: String
    private let pieces: [Piece]

    /// A literal run of the template or one of its placeholders.
    enum Piece: Sendable, Equatable {
        case literal([UInt8])
        case stream, site, date, year, month, day, hour
    }

    static let placeholders: [(String, Piece)] = [
        ("{stream}", .stream), ("{site}", .site), ("{date}", .date), ("{year}", .year), ("{month}", .month), ("{day}", .day),
        ("{hour}", .hour),
    ]

    private init(unchecked: String) {
        template = unchecked
        pieces = Self.pieces(of: unchecked)
    }

    public init(_ template: String) throws {
        var rest = template
        for (a, _) in Self.placeholders { rest = rest.replacingOccurrences(a, with: "") }
        guard !template.isEmpty, !template.hasPrefix("/"), !template.hasSuffix("/"),
            !rest.contains("{"), !rest.contains("}"), !template.contains(".."), !template.hasPrefix("_tributary"),
            template.contains("{site}")
        else {
            throw TributaryError(.invalidMetadata, "partition template '\(template)' is not valid: it must contain {site} (dedup is per site) and may use {stream} {date} {year} {month} {day} {hour}, no leading or trailing '/'")
        }
        self.init(unchecked: template)
    }

    /// Splits a template into literal runs and placeholders (left to right, first match wins).
    static func pieces(of template: String) -> [Piece] {
        let bytes = Array(template.utf8)
        let names = placeholders.map { (Array($0.0.utf8), $0.1) }
        var out: [Piece] = []
        var literal: [UInt8] = []
        var i = 0
        scan: while i < bytes.count {
            if bytes[i] == UInt8(ascii: "{") {
                for (name, piece) in names where bytes.count - i >= name.count && bytes[i..<(i + name.count)].elementsEqual(name) {
                    if !literal.isEmpty { out.append(.literal(literal)) }
                    literal = []
                    out.append(piece)
                    i += name.count
                    continue scan
                }
            }
            literal.append(bytes[i])
            i += 1
        }
        if !literal.isEmpty { out.append(.literal(literal)) }
        return out
    }

    /// `capturedAt` is an RFC 3339 UTC string as formatted by `Timestamp.format`.
    public func partition(stream: String, site: String, capturedAtUTC: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(96)
        appendPartition(to: &out, stream: stream, site: site, capturedAtUTC: capturedAtUTC)
        return String(decoding: out, as: UTF8.self)
    }

    func appendPartition(to out: inout [UInt8], stream: String, site: String, capturedAtUTC: String) {
        // `YYYY-MM-DDTHH…`: the date is the first 10 bytes, its '-'-separated fields the year,
        // month and day (empty unless there are exactly three), the hour bytes 11 and 12.
        var head = (0..<13).map { _ in UInt8(0) }
        var n = 0
        for b in capturedAtUTC.utf8 {
            if n == 13 { break }
            head[n] = b
            n += 1
        }
        let date = head[0..<min(n, 10)]
        let hour = n > 11 ? head[11..<n] : head[0..<0]
        let fields = date.split(separator: UInt8(ascii: "-"))
        for p in pieces {
            switch p {
            case .literal(let bytes): out += bytes
            case .stream: out += stream.utf8
            case .site: out += site.utf8
            case .date: out += date
            case .year: if fields.count == 3 { out += fields[0] }
            case .month: if fields.count == 3 { out += fields[1] }
            case .day: if fields.count == 3 { out += fields[2] }
            case .hour: out += hour
            }
        }
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
        var name = Array(Names.lakeName(name, tag: tag).utf8)
        let lastStart = (name.lastIndex(of: UInt8(ascii: "/")) ?? -1) + 1
        if name.count - lastStart > Self.maxComponentBytes {
            name.replaceSubrange(lastStart..., with: Self.shorten(name[lastStart...], tag: tag))
        }
        var out: [UInt8] = []
        out.reserveCapacity(96 + name.count)
        appendPartition(to: &out, stream: stream, site: site, capturedAtUTC: capturedAtUTC)
        out.append(UInt8(ascii: "/"))
        out += name
        return String(decoding: out, as: UTF8.self)
    }

    /// Longest key component a lake writes (NAME_MAX).
    public static let maxComponentBytes = 255

    /// Cuts the stem of `component` (`<stem>.<tag><ext>`) so the whole fits `maxComponentBytes`.
    static func shorten(_ component: String, tag: String) -> String {
        String(decoding: shorten(Array(component.utf8)[...], tag: tag), as: UTF8.self)
    }

    static func shorten(_ bytes: ArraySlice<UInt8>, tag: String) -> [UInt8] {
        let bytes = Array(bytes)
        let marker = Array(("." + tag).utf8)
        // The tag marker's last occurrence: the stem may itself contain the same characters.
        var at: Int? = nil
        if bytes.count >= marker.count {
            var i = bytes.count - marker.count
            while i >= 0 {
                if bytes[i..<(i + marker.count)].elementsEqual(marker) { at = i; break }
                i -= 1
            }
        }
        guard let at else { return Array(bytes.prefix(maxComponentBytes)) }
        let suffix = bytes[at...]
        let keep = max(1, maxComponentBytes - suffix.count)
        return Array(bytes[..<min(at, keep)] + suffix)
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
