#if canImport(Glibc)
import Glibc
#endif
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Test hooks that end the process abruptly (as `kill -9` would: no cleanup, no flush) at a named
/// moment, so crash tests hit the windows that matter deterministically:
///
///   TRIBUTARY_EDGE_CRASH="upload.after-commit"          crash the first time that point is reached
///   TRIBUTARY_EDGE_CRASH="batch.mid-build:3"            crash the third time
///
/// Points: intake.after-copy, intake.after-journal, batch.mid-build, batch.after-build,
/// upload.after-create, upload.mid-upload, upload.after-commit. Unset in production: `hit` is a
/// dictionary lookup.
enum CrashPoints {
    static let armed: [String: Int] = {
        guard let spec = ProcessInfo.processInfo.environment["TRIBUTARY_EDGE_CRASH"], !spec.isEmpty else { return [:] }
        var out: [String: Int] = [:]
        for part in spec.split(separator: ",") {
            let p = part.split(separator: ":")
            out[String(p[0])] = p.count > 1 ? Int(p[1]) ?? 1 : 1
        }
        return out
    }()

    private static let counts = Mutex<[String: Int]>([:])

    static func hit(_ name: String) {
        guard let n = armed[name] else { return }
        let reached = counts.withLock { c -> Int in
            c[name, default: 0] += 1
            return c[name]!
        }
        if reached >= n {
            let msg = "tributary-edge: crash point \(name) reached (TRIBUTARY_EDGE_CRASH)\n"
            _ = msg.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
            _exit(137)
        }
    }
}

