#if canImport(Glibc)
import Glibc
#endif
import TributaryFiles

/// The spool's lock file: one agent per spool. `flock` is released by the kernel when the agent
/// dies, so a stale file never blocks a restart.
public final class SpoolLock: @unchecked Sendable {
    let fd: Int32

    public init(spool: String) throws {
        let path = spool + "/agent.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileIO.error("open", path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw ConfigurationError("another tributary-edge agent is running on the spool \(spool)")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit { close(fd) }

    public static func isHeld(spool: String) -> Bool {
        let fd = open(spool + "/agent.lock", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return true
    }
}
