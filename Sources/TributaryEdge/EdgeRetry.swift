#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryFiles
import TributaryProtocol
import TributarySettings

/// `tributary-edge retry-quarantined`: puts set-aside objects back to pending (the running agent,
/// if any, hears the doorbell and batches them; the journal's locking orders the two processes).
public enum EdgeRetry {
    public static func retryQuarantined(configuration c: EdgeConfiguration, includingCorrupt: Bool) throws -> Int {
        guard FileIO.exists(c.spoolDirectory + "/journal.sqlite") else {
            throw ConfigurationError("no spool at \(c.spoolDirectory) (no journal.sqlite): pass --spool or --config of the agent")
        }
        let journal = try Journal(spoolDirectory: c.spoolDirectory)
        let n = try journal.retryQuarantined(acceptedAt: Timestamp.format(Date()), includingCorrupt: includingCorrupt)
        if n > 0 { SpoolDoorbell.ring(spool: c.spoolDirectory) }
        return n
    }
}
