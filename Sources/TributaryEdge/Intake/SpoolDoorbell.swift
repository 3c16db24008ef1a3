#if canImport(Glibc)
import Glibc
#endif

/// How a process other than the agent (`tributary-edge put`, `retry-quarantined`) tells the
/// running agent that the journal has new pending objects: it opens and closes `spool/doorbell`
/// for writing after its commit, and the agent, watching that file with inotify, wakes its
/// batcher at once. So the batcher needs no timer to find such objects (edge/README.md, "Idle
/// cost"); where inotify is unavailable it falls back to looking every `poll_ms`.
///
/// The file holds nothing and is never fsynced: a ring lost in a crash costs nothing, because
/// the agent's start looks at the journal anyway.
enum SpoolDoorbell {
    static func path(spool: String) -> String { spool + "/doorbell" }

    /// Rings (after the journal commit it announces). Best effort: with no agent running, or the
    /// file not writable, nothing happens and the objects are batched at the agent's next look.
    static func ring(spool: String) {
        let fd = open(path(spool: spool), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        if fd >= 0 { close(fd) }
    }
}
