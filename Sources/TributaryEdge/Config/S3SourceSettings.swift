import TributaryFiles
import TributaryProtocol
import TributarySettings

/// One `[[source]]` entry of type `s3`: a bucket (or a prefix of one) the agent takes objects from,
/// beside the inbox (edge/README.md, "S3 sources"; edge/tributary-edge.toml has an example).
public struct S3SourceSettings: Sendable, Equatable, CustomStringConvertible {
    public enum After: String, Sendable, CaseIterable {
        /// The object stays in the bucket; the journal remembers its ETag so it is taken once.
        case keep
        /// The object is deleted from the bucket once a receipt names it, if it is still the version taken.
        case delete
    }

    /// Names the source in logs and in the journal (`[A-Za-z0-9_.-]`, unique).
    public var name: String
    /// `http(s)://HOST[:PORT]` of the S3-compatible store.
    public var endpoint: String
    public var bucket: String
    /// Only keys under `prefix/` are taken (empty: the whole bucket). No leading or trailing `/`.
    public var prefix: String = ""
    public var region: String = "us-east-1"
    /// `ENDPOINT/BUCKET/KEY` (true, the default: MinIO, SeaweedFS, Garage) or `BUCKET.HOST/KEY`.
    public var pathStyle: Bool = true
    /// Read from the environment variables named by `access_key_id_env` / `secret_access_key_env`
    /// (default `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`), or from `credentials_file` (first
    /// line the key id, second line the secret). Never logged.
    public var accessKeyID: String
    public var secretAccessKey: String
    /// The first component under the prefix names the stream (`prefix/<stream>/<name…>`), like the
    /// inbox's subdirectories; keys directly under the prefix go to `stream`. With false, every
    /// key goes to `stream` and the whole rest of the key is the name.
    public var streamFromPrefix: Bool = true
    /// Default: the agent's `default_stream`.
    public var stream: String
    /// Seconds between listings (new and changed objects are found within this interval).
    public var pollSeconds: Int = 30
    public var after: After = .keep
    public var caFile: String? = nil

    public var description: String {
        "s3 source \(name) (\(endpoint)/\(bucket)\(prefix.isEmpty ? "" : "/" + prefix), after = \(after.rawValue))"
    }

    /// The keys every entry may have.
    static let keys: Set<String> = [
        "name", "type", "endpoint", "bucket", "prefix", "region", "path_style", "access_key_id_env", "secret_access_key_env",
        "credentials_file", "stream_from_prefix", "stream", "poll_seconds", "after", "ca_file",
    ]

    /// Reads the `source` array of tables (`[[source]]`, or `[[edge.source]]`).
    static func load(_ value: TOMLValue?, file: String, environment: [String: String], defaultStream: String) throws
        -> [S3SourceSettings]
    {
        guard let value else { return [] }
        guard let entries = value.array else { throw ConfigurationError("config file \(file): 'source' must be an array of tables ([[source]])") }
        var out: [S3SourceSettings] = []
        for (index, entry) in entries.enumerated() {
            guard let t = entry.table else { throw ConfigurationError("config file \(file): source #\(index + 1) is not a table") }
            let s = try S3SourceSettings(table: t, file: file, environment: environment, defaultStream: defaultStream, index: index)
            guard !out.contains(where: { $0.name == s.name }) else { throw ConfigurationError("config file \(file): two sources named '\(s.name)'") }
            out.append(s)
        }
        return out
    }

    init(table t: TOMLTable, file: String, environment: [String: String], defaultStream: String, index: Int) throws {
        let at = "config file \(file), source #\(index + 1)"
        for key in t.keys where !Self.keys.contains(key) { throw ConfigurationError("\(at): unknown setting '\(key)'") }
        func string(_ k: String) throws -> String? {
            guard let v = t[k] else { return nil }
            guard let s = v.string else { throw ConfigurationError("\(at): \(k) must be a string") }
            return s
        }
        func bool(_ k: String) throws -> Bool? {
            guard let v = t[k] else { return nil }
            guard let b = v.bool else { throw ConfigurationError("\(at): \(k) must be true or false") }
            return b
        }
        guard let type = try string("type"), type == "s3" else { throw ConfigurationError("\(at): type must be \"s3\"") }
        guard let name = try string("name") else { throw ConfigurationError("\(at): name is required") }
        do { try Names.validateIdentifier(name, what: "source name", code: .invalidName) } catch { throw ConfigurationError("\(at): \(error)") }
        self.name = name
        guard let endpoint = try string("endpoint"), endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
            throw ConfigurationError("\(at): endpoint must be http(s)://HOST[:PORT]")
        }
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        guard let bucket = try string("bucket"), (3...63).contains(bucket.count),
            bucket.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d || $0 == 0x2e })
        else { throw ConfigurationError("\(at): bucket must be 3-63 of a-z 0-9 . -") }
        self.bucket = bucket
        var prefix = try string("prefix") ?? ""
        while prefix.hasSuffix("/") { prefix.removeLast() }
        guard !prefix.hasPrefix("/"), !prefix.contains("//"), prefix.utf8.count <= 512 else {
            throw ConfigurationError("\(at): prefix '\(prefix)' is not valid (no leading / or //, at most 512 bytes)")
        }
        self.prefix = prefix
        region = try string("region") ?? "us-east-1"
        pathStyle = try bool("path_style") ?? true
        if let credentials = try string("credentials_file") {
            let bytes: [UInt8]
            do { bytes = try FileIO.readAll(credentials, limit: 64 * 1024) } catch {
                throw ConfigurationError("\(at): cannot read credentials_file \(credentials): \(error)")
            }
            let lines = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).map {
                $0.trimmingSpaces()
            }.filter { !$0.isEmpty }
            guard lines.count >= 2 else { throw ConfigurationError("\(at): credentials_file \(credentials) must hold the key id and the secret on two lines") }
            accessKeyID = lines[0]
            secretAccessKey = lines[1]
        } else {
            let idVar = try string("access_key_id_env") ?? "AWS_ACCESS_KEY_ID"
            let secretVar = try string("secret_access_key_env") ?? "AWS_SECRET_ACCESS_KEY"
            guard let id = environment[idVar], !id.isEmpty, let secret = environment[secretVar], !secret.isEmpty else {
                throw ConfigurationError("\(at): no credentials: set \(idVar) and \(secretVar), or credentials_file")
            }
            accessKeyID = id
            secretAccessKey = secret
        }
        streamFromPrefix = try bool("stream_from_prefix") ?? true
        stream = try string("stream") ?? defaultStream
        do { try Names.validateStream(stream) } catch { throw ConfigurationError("\(at): stream: \(error)") }
        if let v = t["poll_seconds"] {
            guard let p = v.int, p >= 1, p <= 86_400 else { throw ConfigurationError("\(at): poll_seconds must be an integer 1…86400") }
            pollSeconds = p
        }
        if let a = try string("after") {
            guard let v = After(rawValue: a) else { throw ConfigurationError("\(at): after must be \"keep\" or \"delete\", got '\(a)'") }
            after = v
        }
        caFile = try string("ca_file")
    }
}
