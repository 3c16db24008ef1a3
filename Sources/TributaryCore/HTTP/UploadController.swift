#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import Hummingbird
import Logging
import TributaryProtocol
import TributaryFiles

/// The tus 1.0.0 endpoints at `/v1/uploads` and the have-check (docs/PROTOCOL.md).
struct UploadController: Sendable {
    let registry: UploadRegistry
    let committer: Committer
    let auth: Authenticator
    let gate: SiteGate
    let refusals: RefusalCounter
    /// The process-wide budget of PATCH bytes gathered at once (`max_buffered_body_bytes`).
    let budget: BodyBudget
    let configuration: CoreConfiguration
    let logger: Logger
    /// This core's id: an upload whose path holds it is refused (`409 forward_loop`).
    var coreID = ""

    var limits: SiteLimits { configuration.limits }

    func addRoutes(to router: Router<CoreRequestContext>) {
        let base = RouterPath(stringLiteral: WireProtocol.uploadsPath)
        let one = RouterPath(stringLiteral: WireProtocol.uploadsPath + "/:id")
        router.on(base, method: .options) { _, _ in self.options() }
        router.post(base) { req, ctx in await self.respond(req) { try await self.asSite(req, ctx) { try await self.create(req, site: $0) } } }
        router.on(one, method: .head) { req, ctx in
            await self.respond(req, head: true) { try await self.asSite(req, ctx) { try await self.head(self.id(ctx), site: $0) } }
        }
        router.patch(one) { req, ctx in await self.respond(req) { try await self.asSite(req, ctx) { try await self.patch(req, self.id(ctx), site: $0) } } }
        router.get(one) { req, ctx in
            await self.respond(req, tus: false) {
                try await self.asSite(req, ctx) { try await self.receipt(self.id(ctx), site: $0, form: try Self.receiptForm(req)) }
            }
        }
        router.delete(one) { req, ctx in
            await self.respond(req) { try await self.asSite(req, ctx) { try await self.terminate(self.id(ctx), site: $0) } }
        }
        router.post(RouterPath(stringLiteral: WireProtocol.havePath)) { req, ctx in
            await self.respond(req, tus: false) { try await self.asSite(req, ctx) { try await self.have(req, site: $0) } }
        }
    }

    /// Authenticates a site and runs `body` counted as one of its requests in progress
    /// (`max_requests_per_site`); a refusal by any limit is counted for the fleet view.
    private func asSite(_ req: Request, _ ctx: CoreRequestContext, _ body: (String) async throws -> Response) async throws -> Response {
        let site = try await auth.site(req, ctx)
        return try await refusals.counting(site, at: gate) { try await body(site) }
    }

    private func id(_ ctx: CoreRequestContext) -> String { ctx.parameters.get("id") ?? "" }

    /// Runs a handler, turning every error into its documented response.
    private func respond(_ req: Request, tus: Bool = true, head: Bool = false, _ body: () async throws -> Response) async -> Response {
        do {
            if tus, let v = req.headers[TusHeader.tusResumable], v != WireProtocol.tusVersion {
                throw CoreError(.unsupportedVersion, "Tus-Resumable \(v) is not supported")
            } else if tus && req.headers[TusHeader.tusResumable] == nil {
                throw CoreError(.unsupportedVersion, "Tus-Resumable: 1.0.0 is required")
            }
            var r = try await body()
            r.headers[TusHeader.tusResumable] = WireProtocol.tusVersion
            return r
        } catch {
            let e = CoreError.from(error)
            // The log has the whole error; the client only its code and a message without paths.
            if e.status.code >= 500 {
                logger.error("request failed", metadata: ["http.path": "\(req.uri.path)", "error": "\(error)"])
            } else {
                logger.debug("request rejected", metadata: ["http.path": "\(req.uri.path)", "error": "\(error)"])
            }
            if head {
                // A HEAD answer has no body: its error code travels in `Tributary-Error`.
                var h = e.headers
                h[TusHeader.errorCode] = e.code
                h[TusHeader.tusResumable] = WireProtocol.tusVersion
                h[.cacheControl] = "no-store"
                return Response(status: e.status, headers: h)
            }
            return e.response()
        }
    }

    func options() -> Response {
        Response(status: .noContent, headers: [
            TusHeader.tusResumable: WireProtocol.tusVersion,
            TusHeader.tusVersion: WireProtocol.tusVersion,
            TusHeader.tusExtension: WireProtocol.tusExtensions.joined(separator: ","),
            TusHeader.tusMaxSize: String(configuration.maxUploadBytes),
            TusHeader.tusChecksumAlgorithm: WireProtocol.checksumAlgorithms.joined(separator: ","),
        ])
    }

    func create(_ req: Request, site: String) async throws -> Response {
        try gate.take(.creation, site: site)
        let info: UploadInfo
        do {
            info = try await creation(req, site: site)
        } catch let e where Self.isRefusal(e) {
            await committer.countRejection(site: site, e)
            throw e
        }
        let (id, length) = (info.id, info.length)
        let staging = registry.staging
        let free = try await FileIO.offload { try FileIO.freeBytes(staging.root) }
        try await registry.admit(info, limits: limits, freeBytes: free)
        do {
            try await FileIO.offload { try staging.create(info) }
        } catch {
            await registry.abandon(id)
            throw error
        }
        logger.info("upload created", metadata: ["upload.id": "\(id)", "site.id": "\(site)", "upload.kind": "\(info.kind.rawValue)", "upload.length": "\(length)"])
        var headers: HTTPFields = [
            .location: WireProtocol.uploadsPath + "/" + id,
            TusHeader.uploadOffset: "0",
            TusHeader.uploadExpires: HTTPDate.format(info.expiresAt),
        ]
        if length == 0 {
            // Nothing to send: the upload is complete at creation.
            guard case .commit(let i) = try await registry.patch(id, site: site, offset: 0, bodyLength: 0, now: Date()) else {
                throw CoreError(.internal, "empty upload did not reach the commit state")
            }
            _ = try await commit(i)
            headers[TusHeader.uploadState] = "committed"
        }
        return Response(status: .created, headers: headers)
    }

    /// A creation request refused for what it asked (bad metadata, too large), not for a
    /// transient reason: counted per site by error code. (A zero-length upload refused at its
    /// commit is counted by the committer.)
    static func isRefusal(_ e: any Error) -> Bool {
        if let t = e as? TributaryError { return t.code != .io && t.code != .unknownDictionary }
        if let c = e as? CoreError { return c.code == "too_large" }
        return false
    }

    /// Validates a creation request: headers and metadata, before any state is made.
    private func creation(_ req: Request, site: String) async throws -> UploadInfo {
        if req.headers[TusHeader.uploadDeferLength] != nil {
            throw CoreError(.badRequest, "Upload-Defer-Length is not supported: send Upload-Length")
        }
        guard let lengthText = req.headers[TusHeader.uploadLength] else { throw CoreError(.badRequest, "Upload-Length is required") }
        guard let length = UInt64(lengthText) else { throw CoreError(.badRequest, "Upload-Length '\(Names.printable(lengthText))' is not a non-negative integer") }
        guard length <= configuration.maxUploadBytes else {
            throw CoreError(.tooLarge, "Upload-Length \(length) exceeds Tus-Max-Size \(configuration.maxUploadBytes)")
        }
        let header = req.headers[TusHeader.uploadMetadata] ?? ""
        guard header.utf8.count <= limits.maxMetadataBytes else {
            throw LimitRefusal(
                .metadataTooLarge, "Upload-Metadata has \(header.utf8.count) bytes; at most \(limits.maxMetadataBytes) are accepted", retryAfter: nil)
        }
        let metadata = try UploadMetadata.parse(header)
        let parsed = try UploadInfo.fromMetadata(
            metadata, header: header, id: UploadID.make(node: configuration.nodeID), site: site, length: length, now: Date(),
            expiry: .seconds(configuration.uploadExpirySeconds))
        var info = parsed
        if parsed.onBehalfOf != nil || parsed.receivedAt != nil || parsed.originCore != nil {
            let grant = try await committer.catalog.relay(site: site)
            info.onBehalfOf = try OnBehalfOf.owner(
                caller: site, claimed: parsed.onBehalfOf, statesReceivedAt: parsed.receivedAt != nil, statesPath: parsed.originCore != nil,
                grant: grant)
        }
        if let path = parsed.corePath, CorePath.holds(path, origin: parsed.originCore, core: coreID) {
            throw DomainError(.forwardLoop, "this core (\(coreID)) is already on the upload's path (\(path.joined(separator: " → "))): not taken again")
        }
        if let id = info.dictionary, try await committer.dictionaries.get(id) == nil {
            // The edge sends it (PUT /v1/dictionaries/<id>) and creates again.
            throw TributaryError(.unknownDictionary, "the core does not hold zstd dictionary \(id); send it first")
        }
        if info.kind == .object, let stream = info.stream, let name = info.name {
            // The key this object will have must fit the lake (a segment's entries are checked at commit).
            let captured = try info.capturedAt.map { Timestamp.format(try Timestamp.parse($0)) } ?? Timestamp.format(Date())
            let key = committer.template.key(stream: stream, site: info.owner, capturedAtUTC: captured, name: name, sha256: String(repeating: "0", count: 64))
            if let problem = committer.lake.keyProblem(key) {
                throw TributaryError(.invalidName, "object name '\(Names.printable(name))' cannot be stored: \(problem)")
            }
        }
        return info
    }

    func head(_ id: String, site: String) async throws -> Response {
        var h: HTTPFields = [.cacheControl: "no-store"]
        switch try await registry.lookup(id, site: site) {
        case .committed(_, let length):
            h[TusHeader.uploadOffset] = String(length)
            h[TusHeader.uploadLength] = String(length)
            h[TusHeader.uploadState] = "committed"
        case .active(let e):
            if e.machine.isExpired(now: Date()) { throw expired(id) }
            h[TusHeader.uploadOffset] = String(e.machine.offset)
            h[TusHeader.uploadLength] = String(e.info.length)
            if !e.info.metadataHeader.isEmpty { h[TusHeader.uploadMetadata] = e.info.metadataHeader }
            h[TusHeader.uploadExpires] = HTTPDate.format(e.info.expiresAt)
            h[TusHeader.uploadState] = e.machine.state == .complete ? "complete" : "receiving"
        }
        return Response(status: .ok, headers: h)
    }

    func receipt(_ id: String, site: String, form: ReceiptForm? = nil) async throws -> Response {
        switch try await registry.lookup(id, site: site) {
        case .committed(let json, _):
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: try Self.receiptBody(json, form: form))))
        case .active(let e):
            if e.machine.isExpired(now: Date()) { throw expired(id) }
            throw CoreError(.notCommitted, "upload \(id) is at offset \(e.machine.offset) of \(e.info.length) and not committed")
        }
    }

    func terminate(_ id: String, site: String) async throws -> Response {
        guard try await registry.terminate(id, site: site) else {
            throw CoreError(.alreadyCommitted, "upload \(id) is committed and cannot be terminated")
        }
        logger.info("upload terminated", metadata: ["upload.id": "\(id)", "site.id": "\(site)"])
        return Response(status: .noContent)
    }

    /// The receipt form a request asks for with `Tributary-Receipt` (nil: none asked).
    static func receiptForm(_ req: Request) throws -> ReceiptForm? {
        guard let value = req.headers[TusHeader.receipt] else { return nil }
        guard let form = ReceiptForm(rawValue: value.lowercased()) else {
            throw CoreError(.badRequest, "\(WireProtocol.receiptHeader) must be one of \(ReceiptForm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return form
    }

    /// A stored receipt (the full JSON, as committed) in the form asked for.
    static func receiptBody(_ json: [UInt8], form: ReceiptForm?) throws -> [UInt8] {
        guard form == .compact else { return json }
        let full = try JSONDecoder().decode(CommitReceipt.self, from: Data(json))
        return try JSON.encode(CompactReceipt(full))
    }

    private func expired(_ id: String) -> CoreError {
        CoreError(.expired, "upload \(id) expired before it was completed")
    }

    // MARK: PATCH

    func patch(_ req: Request, _ id: String, site: String) async throws -> Response {
        let contentType = req.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix(WireProtocol.offsetOctetStream) else {
            throw CoreError(.unsupportedMediaType, "PATCH needs Content-Type: \(WireProtocol.offsetOctetStream)")
        }
        guard let offsetText = req.headers[TusHeader.uploadOffset], let offset = UInt64(offsetText) else {
            throw CoreError(.badRequest, "Upload-Offset is missing or not a non-negative integer")
        }
        let checksum = try req.headers[TusHeader.uploadChecksum].map(Self.parseChecksum)
        let form = try Self.receiptForm(req)
        let contentLength = req.headers[.contentLength].flatMap { UInt64($0) }

        var plan = try await registry.patch(id, site: site, offset: offset, bodyLength: contentLength, now: Date())
        if case .reject(.busy) = plan, (contentLength ?? 0) == 0 {
            // An empty PATCH (the client confirming the end) while a commit of this upload runs —
            // another request's, or start-up recovery's: answer with that commit's outcome.
            await registry.waitForRunningCommit(id)
            plan = try await registry.patch(id, site: site, offset: offset, bodyLength: contentLength, now: Date())
        }
        switch plan {
        case .reject(let r):
            throw rejection(r, id: id)
        case .alreadyCommitted:
            return try await committedResponse(id, site: site, offset: offset, form: form)
        case .commit(let info):
            return try await commit(info, form: form)
        case .receive(let info, let at, let room):
            return try await receive(req, info: info, at: at, room: room, checksum: checksum, contentLength: contentLength, form: form)
        }
    }

    private func rejection(_ r: UploadStateMachine.Rejection, id: String) -> CoreError {
        switch r {
        case .gone: return CoreError.from(DomainError.noUpload(id))
        case .expired: return expired(id)
        case .busy: return CoreError(.uploadBusy, "another PATCH is in progress on upload \(id)")
        case .offsetMismatch(let expected):
            return CoreError(.offsetMismatch, "Upload-Offset does not match the upload's offset \(expected)", headers: [TusHeader.uploadOffset: String(expected)])
        case .tooLarge(let room): return CoreError(.tooLarge, "the body runs past Upload-Length: \(room) bytes remain")
        }
    }

    private func committedResponse(offset: UInt64) -> Response {
        Response(status: .noContent, headers: [TusHeader.uploadOffset: String(offset), TusHeader.uploadState: "committed"])
    }

    /// The answer to a PATCH that committed (or found the upload committed): `204`, or — when the
    /// edge asked with `Tributary-Receipt` — `200` with the receipt in that form, which saves it
    /// the receipt GET.
    private func committedResponse(_ id: String, site: String, offset: UInt64, form: ReceiptForm?) async throws -> Response {
        guard let form, case .committed(let json, _) = try await registry.lookup(id, site: site) else { return committedResponse(offset: offset) }
        return Response(
            status: .ok,
            headers: [TusHeader.uploadOffset: String(offset), TusHeader.uploadState: "committed", .contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try Self.receiptBody(json, form: form))))
    }

    static func parseChecksum(_ header: String) throws -> (StreamingDigest.Algorithm, [UInt8]) {
        let parts = header.split(separator: " ")
        guard parts.count == 2 else { throw CoreError(.badRequest, "Upload-Checksum must be '<algorithm> <base64 digest>'") }
        guard let alg = StreamingDigest.Algorithm(rawValue: String(parts[0]).lowercased()) else {
            throw CoreError(.unsupportedChecksum, "checksum algorithm '\(Names.printable(String(parts[0])))' is not supported (sha256, sha1)")
        }
        guard let digest = Data(base64Encoded: String(parts[1])), digest.count == (alg == .sha256 ? 32 : 20) else {
            throw CoreError(.badRequest, "Upload-Checksum digest is not base64 of a \(alg.rawValue) digest")
        }
        return (alg, Array(digest))
    }

    private enum ChunkOutcome {
        case complete(UInt64)
        case interrupted(UInt64)
        case tooSlow(UInt64)
        case tooLarge
    }

    /// Streams one PATCH body into staging at `at`; persists the new durable offset; commits when
    /// the upload is complete.
    ///
    /// The body is gathered into blocks lent by the process-wide `BodyBudget` (256 KiB each by
    /// default), hashed and written on the I/O pool, never on the cooperative pool. A body slower than `min_body_bytes_per_second`
    /// (after `body_rate_grace_seconds`) is cut like a dropped connection: 408, its lock freed,
    /// the durable offset unchanged (or advanced by what arrived, without a checksum).
    private func receive(
        _ req: Request, info: UploadInfo, at: UInt64, room: UInt64, checksum: (StreamingDigest.Algorithm, [UInt8])?, contentLength: UInt64?,
        form: ReceiptForm?
    ) async throws -> Response {
        let id = info.id
        let staging = registry.staging
        let path = staging.dataPath(id)
        var outcome = ChunkOutcome.complete(0)
        // The upload's sha256 is computed while its bytes arrive, so the commit need not read them
        // again (UploadDigest).
        let file = StagedFile(digest: checksum.map { StreamingDigest($0.0) }, uploadDigest: await registry.takeDigest(id, at: at))
        let action: UploadStateMachine.ChunkAction
        do {
            try await FileIO.offload { try file.open(path, at: at) }
            var count: UInt64 = 0
            // The block this request gathers into, lent by the process-wide budget once a body
            // buffer is there and given back after each write (BodyBudget).
            var block: BodyBudget.Block?
            func writeBlock() async throws {
                guard let held = block else { return }
                block = nil
                // `held` goes back to the budget when this returns or throws (its deinit).
                guard !held.bytes.isEmpty else { return }
                try await FileIO.offload { [bytes = held.bytes] in try file.write(bytes) }
            }
            outcome = .complete(0)
            let started = SiteGate.monotonicSeconds()
            do {
                for try await buffer in req.body {
                    let n = UInt64(buffer.readableBytes)
                    let (next, overflow) = count.addingReportingOverflow(n)
                    if overflow || next > room {
                        outcome = .tooLarge
                        break
                    }
                    // Into blocks of the budget, never past one's size (a buffer may straddle two).
                    // `count` follows every byte appended, so what a cut leaves is exactly what
                    // was written.
                    var rest = buffer.readableBytesView
                    while !rest.isEmpty {
                        let held: BodyBudget.Block
                        if let b = block { held = b } else { held = try await budget.acquire(site: info.site) }
                        block = held
                        let take = min(rest.count, budget.blockBytes - min(held.bytes.count, budget.blockBytes))
                        held.bytes.append(contentsOf: rest.prefix(take))
                        rest = rest.dropFirst(take)
                        count += UInt64(take)
                        if held.isFull { try await writeBlock() }
                    }
                    let now = SiteGate.monotonicSeconds()
                    // A block goes back once full (above), or after `maxBlockHoldSeconds` however
                    // full: a slow body does not keep one from the requests waiting for it.
                    if let held = block, now - held.since >= Self.maxBlockHoldSeconds { try await writeBlock() }
                    let expecting = count < room && (contentLength.map { count < $0 } ?? true)
                    if expecting && limits.bodyTooSlow(bytes: count, elapsed: now - started) {
                        outcome = .tooSlow(count)
                        break
                    }
                }
                try await writeBlock()
                if case .complete = outcome {
                    outcome = contentLength.map { count < $0 } == true ? .interrupted(count) : .complete(count)
                }
            } catch let e as TributaryError {
                throw e
            } catch {
                // The client went away or stalled past the idle timeout (or the task was cancelled
                // while it waited for a block: nothing of that buffer was counted).
                try await writeBlock()
                outcome = .interrupted(count)
            }
            let finalCount: UInt64
            switch outcome {
            case .tooLarge:
                throw CoreError(.tooLarge, "the body runs past Upload-Length: \(room) bytes remain")
            case .tooSlow(let c):
                // Like a cut connection: without a checksum what arrived is kept.
                guard checksum == nil, c > 0 else {
                    throw LimitRefusal(.tooSlow, "the body arrived slower than \(limits.minBodyBytesPerSecond) bytes/s; nothing of it was kept", retryAfter: 1)
                }
                finalCount = c
            case .interrupted(let c):
                // Without a checksum tus keeps what arrived; with one it cannot be verified.
                guard checksum == nil, c > 0 else {
                    throw CoreError(.badRequest, "the request body ended before Content-Length (\(c) bytes)")
                }
                finalCount = c
            case .complete(let c):
                if let (alg, expected) = checksum {
                    if file.finalizeDigest() != expected {
                        throw CoreError.chunkChecksumMismatch("chunk \(alg.rawValue) does not match Upload-Checksum; the chunk was discarded")
                    }
                }
                finalCount = c
            }
            let hashed = try await FileIO.offload {
                try file.syncAndClose()
                try staging.persistOffset(id, at + finalCount)
                return file.takeUploadDigest()
            }
            action = try await registry.chunkStored(id, count: finalCount, digest: hashed)
            if case .tooSlow = outcome {
                throw LimitRefusal(.tooSlow, "the body arrived slower than \(limits.minBodyBytesPerSecond) bytes/s; \(finalCount) bytes were kept", retryAfter: 1)
            }
        } catch {
            file.closeIfOpen()
            if case .tooSlow = outcome, error is LimitRefusal, checksum == nil {
                // What arrived is durable and recorded; the state machine moved on already.
                throw error
            }
            // Nothing of this chunk is kept: cut the file back to the durable offset.
            try? await FileIO.offload { try staging.truncate(id, to: at) }
            await registry.chunkDiscarded(id)
            throw error
        }
        // The chunk is durable from here on: a commit that fails must not cut it away (a
        // transient failure keeps every staged byte for the retry).
        switch action {
        case .persist(let newOffset):
            return Response(status: .noContent, headers: [
                TusHeader.uploadOffset: String(newOffset), TusHeader.uploadExpires: HTTPDate.format(info.expiresAt),
            ])
        case .persistAndCommit:
            return try await commit(info, form: form)
        }
    }

    /// Longest a request keeps a block of the body budget between writes, checked as its body's
    /// buffers arrive: 0.5 s.
    static let maxBlockHoldSeconds = 0.5

    /// Commits a complete upload. A validation failure answers 422 (upload discarded), a
    /// transient one 503 (upload kept for a retry), both through `CoreError.from`.
    private func commit(_ info: UploadInfo, form: ReceiptForm? = nil) async throws -> Response {
        try await committer.commitStaged(info, registry: registry)
        return try await committedResponse(info.id, site: info.site, offset: info.length, form: form)
    }

    // MARK: have-check

    /// The site a have-check asks about: the caller's own, or — a relay only — `?site=NAME`
    /// (the same rule as an upload's `site` metadata, `OnBehalfOf.owner`).
    private func haveSite(_ req: Request, caller: String) async throws -> String {
        guard let claimed = req.uri.queryParameters["site"].map(String.init), claimed != caller else { return caller }
        try Names.validateSite(claimed)
        let grant = try await committer.catalog.relay(site: caller)
        return try OnBehalfOf.owner(caller: caller, claimed: claimed, statesReceivedAt: false, grant: grant) ?? caller
    }

    func have(_ req: Request, site caller: String) async throws -> Response {
        let site = try await haveSite(req, caller: caller)
        var request = req
        let body = try await request.collectBody(upTo: 2 << 20)
        if req.headers[.contentType]?.lowercased().hasPrefix(BinaryHave.contentType) == true {
            // The binary form: raw digests in, a bitmap out (docs/PROTOCOL.md, "Have-check").
            let hashes: [String]
            do { hashes = try BinaryHave.parseRequest(Array(buffer: body)) } catch let e as TributaryError {
                throw CoreError(.badRequest, "binary have-check body: \(e.message)")
            }
            let held = try await committer.catalog.held(site: site, hashes: hashes)
            let bits = BinaryHave.encodeAnswer(count: hashes.count) { held.contains(hashes[$0]) }
            return Response(status: .ok, headers: [.contentType: BinaryHave.contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bits)))
        }
        let parsed: HaveRequest
        do {
            // The one have-check parser (TributaryProtocol, fuzzed): shape, count and hex checked.
            parsed = try HaveRequest.parse(Array(buffer: body))
        } catch let e as TributaryError {
            throw CoreError(.badRequest, "body must be {\"sha256\": [\"<hex>\", …]}: \(e.message)")
        }
        let held = try await committer.catalog.held(site: site, hashes: parsed.sha256)
        let answer = HaveResponse(have: parsed.sha256.filter { held.contains($0) })
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: try JSON.encode(answer))))
    }
}
