#if canImport(Glibc)
import Glibc
#endif
import TributaryFiles

/// Orders the takers of a spool against the agent's start-up clean-up (`SpoolIntake.removeLeftovers`).
///
/// Intake copies go straight to `objects/` and are journaled afterwards; a file there that no row
/// names is a crash leftover — unless another process (`tributary-edge put`) is between its copy and
/// its journal commit. So every intake holds `<spool>/intake.lock` shared (`flock`) from its first
/// copy to its commit, and the clean-up holds it exclusively: it waits for (or, without waiting,
/// skips while) any `put` in progress, and a `put` that starts meanwhile waits for it. The kernel
/// releases the lock when a process dies, so a crashed `put` never blocks a start.
final class IntakeLock {
    private let fd: Int32

    /// nil when `wait` is false and the lock is held the other way.
    init?(spool: String, exclusive: Bool, wait: Bool = true) throws {
        let path = spool + "/intake.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileIO.error("open", path) }
        var op = exclusive ? LOCK_EX : LOCK_SH
        if !wait { op |= LOCK_NB }
        while flock(fd, op) != 0 {
            let e = errno
            if e == EINTR { continue }
            close(fd)
            if e == EWOULDBLOCK { return nil }
            throw FileIO.error("flock", path, e)
        }
    }

    deinit { close(fd) }
}
