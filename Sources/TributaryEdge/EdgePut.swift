#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import TributaryFiles
import TributaryProtocol
import TributarySettings

/// `tributary-edge put`: takes files into the spool of a (running or stopped) agent and returns
/// once they are durable, then rings the running agent's doorbell (`SpoolDoorbell`). The originals
/// are left alone, or with `move` removed once accepted (then the spool may take each file itself
/// by a hard link, `IntakeMethod`; a file already taken by an earlier `put --move` that died before
/// removing it is removed, not taken twice).
public enum EdgePut {
    public static func put(
        files: [String], stream: String, capturedAt: String?, move: Bool = false, configuration c: EdgeConfiguration, logger: Logger
    ) throws -> IntakeResult {
        var captured: String? = nil
        if let capturedAt {
            do { captured = Timestamp.format(try Timestamp.parse(capturedAt)) } catch {
                throw ConfigurationError("--captured-at: \(error)")
            }
        }
        do { try Names.validateStream(stream) } catch { throw ConfigurationError("--stream: \(error)") }
        let spool = try SpoolIntake(directory: c.spoolDirectory, logger: logger)
        var items = files.map { path in
            IntakeItem(
                sourcePath: path, stream: stream, name: String(path.split(separator: "/").last ?? Substring(path)), capturedAt: captured,
                rememberSource: move, removesSource: move)
        }
        if move {
            items = items.filter { item in
                guard let taken = TakenFile.of(item.sourcePath), (try? spool.journal.wasTaken(taken)) == true else { return true }
                unlink(item.sourcePath)
                return false
            }
        }
        let result = try spool.ingest(items, configuration: c)
        // A running agent batches them now, not at its next safety look.
        if !result.accepted.isEmpty { SpoolDoorbell.ring(spool: c.spoolDirectory) }
        guard move else { return result }
        var dirs = Set<String>()
        for o in result.accepted {
            guard let src = o.source?.path else { continue }
            unlink(src)
            dirs.insert(FileIO.dirname(of: src))
        }
        for d in dirs { try? FileIO.fsyncDirectory(d) }
        return result
    }
}
