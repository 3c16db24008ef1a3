/// How a file enters the spool. Pure: `SpoolIntake` passes what it saw of the file and acts.
///
/// - `link`: the spool takes the file itself — a hard link named `objects/<random>`, no byte
///   written. The file's data is made durable by the group's `syncfs`, like a copy's. Chosen only when
///   all of these hold:
///   - the caller removes the source once it is accepted (inbox policy `delete`, `put --move`): a
///     kept source sharing its inode with the spool could be changed in place afterwards;
///   - the source and the spool are on one filesystem (same `st_dev`; a link across mounts still
///     fails with EXDEV, and then the file is copied);
///   - the file has no other name (`st_nlink` = 1): a second name is a way to change the spool's
///     bytes behind its back.
/// - `copy`: read once, written into `objects/<random>` (hashed on the way) — every other case,
///   and whenever the link is refused (EXDEV, EPERM under `fs.protected_hardlinks`, EMLINK,
///   a filesystem without hard links).
///
/// Either way the source stays where it is until the journal's transaction accepted the object, so
/// a crash before it leaves the source in place and at most an unnamed spool file, which the
/// start-up clean-up removes (the source's other name keeps a linked file's data): the rules of the
/// copy hold unchanged for the link. Why a link rather than a rename: a renamed file is gone from the
/// inbox before the journal knows it, so a crash there would need a journaled intent and a recovery
/// that moves files back; a link needs neither, and costs the same (no data written, no inode
/// created — the inode work was 39 % of the edge's time on small files, docs/PERFORMANCE.md).
public enum IntakeMethod: String, Sendable, Equatable {
    case link, copy

    public static func choose(sourceRemovedAfter: Bool, sourceDevice: UInt64, spoolDevice: UInt64?, links: UInt64) -> IntakeMethod {
        guard sourceRemovedAfter, let spoolDevice, sourceDevice == spoolDevice, links == 1 else { return .copy }
        return .link
    }
}
