#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Decoding of the JSON bodies a site sends (have-check, heartbeat): a ceiling on the body
/// before anything is parsed, and one error shape for whatever the decoder refuses.
public enum JSONBody {
    /// Decodes `body` as `T`. `too_large` past `limits.maxJSONBodyBytes`; `invalid_body` when it
    /// is not JSON of `T`'s shape (the decoder's own description says where).
    public static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8], limits: ParserLimits = .default) throws -> T {
        guard body.count <= limits.maxJSONBodyBytes else {
            throw TributaryError(.tooLarge, "a JSON body may have at most \(limits.maxJSONBodyBytes) bytes")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch {
            throw TributaryError(.invalidBody, "body is not JSON of the expected shape: \(error)")
        }
    }
}
