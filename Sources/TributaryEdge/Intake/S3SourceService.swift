#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import ServiceLifecycle
import TributaryCurl
import TributaryDelivery
import TributaryFiles
import TributaryProtocol

/// Takes objects from one bucket (`[[source]]`, type `s3`) into the spool, beside the inbox.
///
/// Every `poll_seconds` it lists the prefix (`S3SourcePlanner` holds the rules), fetches each new or
/// changed object into `<spool>/incoming/` and takes it into the spool exactly as `put` takes a file
/// (copy + sha256, syncfs, one journal transaction) — that transaction also records the version
/// taken, so after kill -9 either both are there or neither. With `after = "delete"` it deletes,
/// on each poll, the objects a receipt has named since, if they are still the version taken.
/// Failures are logged and counted (`source_failures`); a version that fails `maxAttempts` times
/// is set aside until it changes. Every request and journal call runs on its own thread.
public final class S3SourceService: Service, @unchecked Sendable {
    let context: AgentContext
    let settings: S3SourceSettings
    let planner: S3SourcePlanner
    let client: S3SourceClient
    /// Signalled when objects were accepted (the batcher waits on it).
    let toBatcher: Wakeup
    /// Failed fetches by key and ETag in this run.
    private var failures: [String: Int] = [:]
    private var spoolFullLogged = false
    var logger: Logger { context.logger }

    public init(context: AgentContext, settings: S3SourceSettings, accepted: Wakeup) {
        self.context = context
        toBatcher = accepted
        self.settings = settings
        let c = context.configuration
        planner = S3SourcePlanner(settings, maxObjectBytes: c.maxSpoolBytes)
        client = S3SourceClient(settings: settings, stallSeconds: c.stallSeconds, connectTimeout: c.connectTimeoutSeconds)
    }

    public func run() async throws {
        logger.info("watching an S3 source", metadata: ["source": "\(settings)", "poll_seconds": "\(settings.pollSeconds)"])
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.pass()
                await self.context.clock.sleep(milliseconds: self.settings.pollSeconds * 1000)
                try Task.checkCancellation()
            }
        }
    }

    /// One listing of the whole prefix, with the fetches and deletions it calls for.
    func pass() async {
        let journal = context.spool.journal
        let name = settings.name
        guard var remembered = try? await BlockingThread.run({ try journal.sourceObjects(name) }) else {
            logger.error("cannot read the source's cursor from the journal", metadata: ["source": "\(name)"])
            return
        }
        var listed = Set<String>()
        var continuation: String? = nil
        var complete = false
        var toDelete: [S3ListedObject] = []
        let client = self.client
        let prefix = planner.listPrefix
        while !Task.isCancelled {
            let page: S3ListPage
            do {
                let token = continuation
                page = try await BlockingThread.run { try client.list(prefix: prefix, continuation: token) }
            } catch {
                await countFailure("listing failed; will list again at the next poll", error: error)
                break
            }
            for o in page.objects {
                listed.insert(o.key)
                let attempts = failures[o.key + "\u{0}" + o.etag] ?? 0
                switch planner.decide(o, remembered: remembered[o.key], failures: attempts) {
                case .nothing: break
                case .delete: toDelete.append(o)
                case .refuse(let why):
                    await refuse(o, why)
                    remembered[o.key] = RememberedSourceObject(etag: o.etag, size: o.size, state: .refused, reason: why)
                case .take(let stream, let objectName):
                    switch await take(o, stream: stream, name: objectName) {
                    case .taken(let v): remembered[o.key] = RememberedSourceObject(etag: v.etag, size: v.size, state: .taken)
                    case .failed, .gone: break
                    case .spoolFull: return  // nothing more fits: try again at the next poll
                    }
                }
            }
            guard page.isTruncated else {
                complete = true
                break
            }
            guard let next = page.nextContinuationToken, next != continuation else {
                await countFailure("the listing is truncated without a new continuation token", error: nil)
                break
            }
            continuation = next
        }
        for o in toDelete where !Task.isCancelled {
            if let r = remembered[o.key] { await deleteIfUnchanged(o.key, delivered: r) }
        }
        if complete {
            let gone = planner.gone(remembered: remembered.keys, listed: listed)
            if !gone.isEmpty {
                _ = try? await BlockingThread.run { try journal.forgetSourceObjects(name, keys: gone) }
            }
            failures = failures.filter { listed.contains(String($0.key.prefix { $0 != "\u{0}" })) }
        }
    }

    enum TakeOutcome { case taken(SourceVersion), failed, gone, spoolFull }

    /// Fetches one object into incoming/ and takes it into the spool.
    private func take(_ o: S3ListedObject, stream: String, name: String) async -> TakeOutcome {
        let spool = context.spool
        let configuration = context.configuration
        let client = self.client
        let source = settings.name
        let staging = spool.directory + "/incoming/s3-" + Hex.encode(secureRandomBytes(12))
        let limit = configuration.maxSpoolBytes
        let captured = (try? Timestamp.parse(o.lastModified)).map(Timestamp.format)
        let now = context.clock.date
        do {
            let result: IntakeResult? = try await BlockingThread.run {
                let fd = try FileIO.open(staging, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600)
                defer {
                    close(fd)
                    unlink(staging)
                }
                guard let got = try client.get(o.key, into: fd, path: staging, limit: limit) else { return nil }
                let version = SourceVersion(source: source, key: o.key, etag: got.etag, size: got.size)
                let item = IntakeItem(sourcePath: staging, stream: stream, name: name, capturedAt: captured, origin: version)
                return try spool.ingest([item], configuration: configuration, now: now)
            }
            guard let result else { return .gone }
            if let refusal = result.refused.first { throw S3SourceError(message: refusal.message) }
            guard let accepted = result.accepted.first, let v = accepted.origin else { return .failed }
            spoolFullLogged = false
            logger.info("took an object from the bucket", metadata: [
                "source": "\(source)", "key": "\(Names.printable(o.key))", "stream": "\(stream)", "size": "\(accepted.size)",
                "etag": "\(v.etag)",
            ])
            toBatcher.signal()
            return .taken(v)
        } catch let full as SpoolFullError {
            if !spoolFullLogged {
                logger.warning("spool full (full_policy = block): bucket objects wait in the bucket", metadata: ["source": "\(source)", "error": "\(full)"])
                spoolFullLogged = true
            }
            return .spoolFull
        } catch {
            failures[o.key + "\u{0}" + o.etag, default: 0] += 1
            await countFailure("fetching an object failed; will try again at the next poll", error: error, key: o.key)
            return .failed
        }
    }

    private func refuse(_ o: S3ListedObject, _ why: String) async {
        logger.warning("bucket object set aside: \(why); it is taken again only when it changes", metadata: [
            "source": "\(settings.name)", "key": "\(Names.printable(o.key))",
        ])
        let journal = context.spool.journal
        let v = SourceVersion(source: settings.name, key: o.key, etag: o.etag, size: o.size)
        let at = Timestamp.format(context.clock.date)
        _ = try? await BlockingThread.run { try journal.refuseSourceObject(v, reason: why, at: at) }
    }

    /// `after = "delete"`: HEAD, and DELETE only if it is still the version a receipt named.
    private func deleteIfUnchanged(_ key: String, delivered: RememberedSourceObject) async {
        let client = self.client
        let journal = context.spool.journal
        let name = settings.name
        do {
            let current = try await BlockingThread.run { try client.head(key) }
            switch S3SourcePlanner.verify(delivered: delivered, current: current) {
            case .keep:
                logger.info("bucket object overwritten since it was delivered: not deleted (the new version is taken)", metadata: [
                    "source": "\(name)", "key": "\(Names.printable(key))",
                ])
            case .forget:
                try await BlockingThread.run { try journal.forgetSourceObjects(name, keys: [key]) }
            case .delete:
                try await BlockingThread.run {
                    try client.delete(key)
                    try journal.forgetSourceObjects(name, keys: [key], deleted: 1)
                }
                logger.debug("deleted a delivered object from the bucket", metadata: ["source": "\(name)", "key": "\(Names.printable(key))"])
            }
        } catch {
            await countFailure("deleting a delivered object failed; will try again at the next poll", error: error, key: key)
        }
    }

    private func countFailure(_ message: String, error: (any Error)?, key: String? = nil) async {
        var metadata: Logger.Metadata = ["source": "\(settings.name)"]
        if let error { metadata["error"] = "\(error)" }
        if let key { metadata["key"] = "\(Names.printable(key))" }
        logger.warning("\(message)", metadata: metadata)
        let journal = context.spool.journal
        _ = try? await BlockingThread.run { try journal.count("source_failures") }
    }
}
