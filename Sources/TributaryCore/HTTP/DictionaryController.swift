import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TributaryProtocol

/// `PUT /v1/dictionaries/<sha256>`: a site sends a zstd dictionary its segments name
/// (docs/PROTOCOL.md, "Dictionaries"). The body must be a zstd-format dictionary of at most
/// `ZstdDictionary.maxBytes` whose sha256 is the path's id; it is kept in the lake.
struct DictionaryController: Sendable {
    let dictionaries: LakeDictionaries
    let auth: Authenticator
    let gate: SiteGate
    let refusals: RefusalCounter
    let logger: Logger

    func addRoutes(to router: Router<CoreRequestContext>) {
        router.put(RouterPath(stringLiteral: WireProtocol.dictionariesPath + "/:id")) { req, ctx in
            let site = try await auth.site(req, ctx)
            return try await refusals.counting(site, at: gate) { try await self.put(req, id: ctx.parameters.get("id") ?? "", site: site) }
        }
    }

    func put(_ req: Request, id: String, site: String) async throws -> Response {
        guard Hex.isSHA256(id) else {
            throw TributaryError(.invalidDictionary, "a dictionary is named by the 64 lowercase hex digits of its sha256")
        }
        try gate.take(.creation, site: site)
        if let length = req.headers[.contentLength].flatMap(Int.init), length > ZstdDictionary.maxBytes {
            throw TributaryError(.tooLarge, "a dictionary of \(length) bytes exceeds \(ZstdDictionary.maxBytes)")
        }
        var request = req
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: ZstdDictionary.maxBytes) } catch is NIOTooManyBytesError {
            throw TributaryError(.tooLarge, "a dictionary is at most \(ZstdDictionary.maxBytes) bytes")
        }
        let d = try ZstdDictionary(validating: Array(buffer: body))
        guard d.id == id else {
            throw TributaryError(.invalidDictionary, "the dictionary's sha256 is \(d.id), not the \(id) it is sent as")
        }
        try await dictionaries.put(d)
        logger.info("dictionary stored", metadata: ["site.id": "\(site)", "dictionary": "\(id)", "bytes": "\(d.bytes.count)"])
        return Response(status: .created)
    }
}
