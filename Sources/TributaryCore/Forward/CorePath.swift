import Logging
import TributaryFiles
import TributaryProtocol

/// Loop prevention between forwarding cores (docs/REPLICATION.md, "Loops"). Every core has a
/// stable id (`core_id`, or generated once into `<data-dir>/core.id`). A forwarded upload carries
/// the id of the core its arrivals entered at (`origin`) and the cores it passed through before
/// the sender, the sender included (`path`), in its metadata; the upstream records both with
/// the upload. The rule, in one place: an upload is never sent to a core that is its origin or
/// on its path.
public enum CorePath {
    /// Longest path accepted (hops). A chain of forwarding cores longer than this is refused
    /// (`400 invalid_metadata`); real deployments have two or three.
    public static let maxHops = 16
    /// Longest core id (bytes).
    public static let maxIDBytes = 64

    /// Whether `item` must not go to the core `target`.
    public static func mustNotSend(_ item: ForwardItem, to target: String) -> Bool {
        item.origin == target || item.path.contains(target)
    }

    /// Whether `core` is the origin or on the path (the upstream's own check at creation).
    public static func holds(_ path: [String], origin: String?, core: String) -> Bool {
        !core.isEmpty && (origin == core || path.contains(core))
    }

    /// The origin and path an upload states (`origin-core`, `core-path`), validated: both or
    /// neither; the path is 1–`maxHops` valid ids, no id twice (that would be a loop already),
    /// the origin first. Every failure is `400 invalid_metadata` with what was wrong.
    public static func parse(origin: String?, path: String?) throws -> (origin: String, path: [String])? {
        switch (origin, path) {
        case (nil, nil):
            return nil
        case (let o?, let p?):
            let origin = try validateID(o)
            // Counted before anything is split off: the work is bounded by the limit, not the input.
            let hops = p.utf8.reduce(1) { $0 + ($1 == UInt8(ascii: ",") ? 1 : 0) }
            guard hops <= maxHops else {
                throw TributaryError(.invalidMetadata, "'core-path' has \(hops) hops; at most \(maxHops) are accepted")
            }
            let parts = p.split(separator: ",", omittingEmptySubsequences: false)
            var ids: [String] = []
            for part in parts {
                let id = try validateID(String(part))
                guard !ids.contains(id) else {
                    throw TributaryError(.invalidMetadata, "'core-path' names core '\(id)' twice")
                }
                ids.append(id)
            }
            guard ids.first == origin else {
                throw TributaryError(.invalidMetadata, "'core-path' must begin with 'origin-core' ('\(origin)')")
            }
            return (origin, ids)
        default:
            throw TributaryError(.invalidMetadata, "'origin-core' and 'core-path' go together")
        }
    }

    /// What a forwarding core states for `item`: its origin (this core when the objects entered
    /// here) and its path with this core appended.
    public static func forwarded(_ item: ForwardItem, by core: String) -> (origin: String, path: [String]) {
        let origin = item.origin ?? core
        var path = item.path.isEmpty ? [origin] : item.path
        if path.last != core { path.append(core) }
        return (origin, path)
    }

    /// A core id: 1–64 bytes of `[A-Za-z0-9._-]`, not starting with `.` or `-`.
    public static func validateID(_ id: String) throws -> String {
        let bytes = Array(id.utf8)
        guard !bytes.isEmpty, bytes.count <= maxIDBytes,
              bytes.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }),
              isAlnum(bytes[0]) || bytes[0] == UInt8(ascii: "_")
        else {
            throw TributaryError(.invalidMetadata, "core id '\(Names.printable(id))' must be 1 to \(maxIDBytes) bytes of letters, digits, '.', '_' or '-'")
        }
        return id
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
    }

    /// The configured `core_id`, or the one in `<data-dir>/core.id`, generated once if missing.
    static func loadID(_ c: CoreConfiguration, logger: Logger) throws -> String {
        if let id = c.coreID { return id }
        if FileIO.exists(c.coreIDPath) {
            let text = String(decoding: try FileIO.readAll(c.coreIDPath, limit: 4096), as: UTF8.self)
            let id = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            do { return try validateID(id) } catch { throw ConfigurationError("\(c.coreIDPath): \(error)") }
        }
        let id = "core-" + Hex.encode(secureRandomBytes(8))
        try FileIO.atomicWrite(c.coreIDPath, Array((id + "\n").utf8))
        logger.notice("generated core id", metadata: ["core.id": "\(id)", "path": "\(c.coreIDPath)"])
        return id
    }
}
