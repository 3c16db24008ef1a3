#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import TributaryProtocol
import TributarySettings

/// `tributary-edge put`: takes files into the spool of a (running or stopped) agent and returns
/// once they are durable, then rings the running agent's doorbell. The originals are left alone.
public enum EdgePut {
    public static func put(
        files: [String], stream: String, capturedAt: String?, configuration c: EdgeConfiguration, logger: Logger
    ) throws -> IntakeResult {
        var captured: String? = nil
        if let capturedAt {
            do { captured = Timestamp.format(try Timestamp.parse(capturedAt)) } catch {
                throw ConfigurationError("--captured-at: \(error)")
            }
        }
        do { try Names.validateStream(stream) } catch { throw ConfigurationError("--stream: \(error)") }
        let spool = try SpoolIntake(directory: c.spoolDirectory, logger: logger)
        let items = files.map { path in
            IntakeItem(sourcePath: path, stream: stream, name: String(path.split(separator: "/").last ?? Substring(path)), capturedAt: captured)
        }
        let result = try spool.ingest(items, configuration: c)
        // A running agent batches them now, not at its next safety look.
        if !result.accepted.isEmpty { SpoolDoorbell.ring(spool: c.spoolDirectory) }
        return result
    }
}
