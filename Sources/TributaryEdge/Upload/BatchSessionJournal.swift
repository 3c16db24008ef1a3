import Logging
import TributaryDelivery
import TributaryProtocol

/// The edge's side effects of one upload session (`SessionDriver`): each durable step in the
/// spool journal (upload URL, chunk progress, refusals, counters) and the live view in
/// `AgentRuntime` (in-flight batch, bytes sent, link successes). Used from the session's
/// blocking thread only.
final class BatchSessionJournal: SessionJournal, @unchecked Sendable {
    let journal: Journal
    let runtime: AgentRuntime
    let logger: Logger
    let batch: SpoolBatch
    let lane: UploadLane
    let core: Int
    private var inFlight: AgentRuntimeStatus.InFlight
    /// Where the link's measured rate goes (`LevelPolicy`).
    let levels: LevelMeasurements?

    init(
        journal: Journal, runtime: AgentRuntime, logger: Logger, batch: SpoolBatch, lane: UploadLane, core: Int,
        inFlight: AgentRuntimeStatus.InFlight, levels: LevelMeasurements? = nil
    ) {
        self.levels = levels
        self.journal = journal
        self.runtime = runtime
        self.logger = logger
        self.batch = batch
        self.lane = lane
        self.core = core
        self.inFlight = inFlight
    }

    func recordUpload(url: String?) throws {
        try journal.setUpload(batch: batch.id, url: url)
        inFlight.uploadURL = url
        runtime.setInFlight(inFlight, lane: lane)
    }

    func recordProgress(offset: UInt64, length: UInt64) throws {
        try journal.recordChunk(batch: batch.id, offset: offset, wireBytes: length, goodBytes: length)
        runtime.transferred(wire: length, good: length)
        CrashPoints.hit("upload.mid-upload")
        runtime.progress(sent: offset, lane: lane)
        runtime.linkSucceeded(core: core)
    }

    func recordCreationRefusal() throws {
        _ = try journal.countAttempt(batch: batch.id)
    }

    func recordCommitFailure() throws {
        try journal.countCommitFailure(batch: batch.id)
    }

    func count(_ name: String) throws {
        try journal.count(name)
        logger.warning(
            name == "chunks_resent_corrupt" ? "a chunk was damaged on the way (checksum mismatch at the core); re-sending it" : "offset differs from the core's; asking it",
            metadata: ["batch": "\(batch.id)"])
    }

    func wasted(bytes: UInt64) throws {
        // Bytes put on the wire and lost (a cut chunk, a damaged or refused one).
        runtime.transferred(wire: bytes, good: 0)
        try journal.countWasted(wireBytes: bytes)
    }

    func sending(offset: UInt64, uploaded: UInt64) {
        runtime.progress(sent: offset + uploaded, lane: lane)
    }

    func sent(bytes: UInt64, seconds: Double) {
        levels?.linkSample(bytes: bytes, seconds: seconds)
    }

    func observed(_ event: UploadSession.Event, state: UploadSession.State) {
        switch event {
        case .headed(let r):
            if case .resuming = state {
                logger.info("resuming an upload", metadata: [
                    "batch": "\(batch.id)", "offset": "\(r.offset)", "length": "\(r.length)", "state": "\(r.state.rawValue)",
                ])
            }
            runtime.linkSucceeded(core: core)
        case .created:
            runtime.linkSucceeded(core: core)
        default:
            break
        }
    }
}
