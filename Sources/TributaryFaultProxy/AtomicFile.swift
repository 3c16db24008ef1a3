import Glibc

/// Whole-file replacement that readers never see half done: write `PATH.tmp-PID`, then rename it
/// over `PATH`. (No fsync: the files are for live observers, not for surviving a crash.)
enum AtomicFile {
    static func write(_ text: String, to path: String) throws {
        let tmp = "\(path).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FaultProxyError.system("open \(tmp)", errno: errno) }
        var failure: Int32 = 0
        Array(text.utf8).withUnsafeBytes { p in
            var done = 0
            while done < p.count {
                let n = posixWrite(fd, p.baseAddress! + done, p.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                done += n
            }
        }
        close(fd)
        if failure != 0 {
            unlink(tmp)
            throw FaultProxyError.system("write \(tmp)", errno: failure)
        }
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw FaultProxyError.system("rename \(tmp) to \(path)", errno: e)
        }
    }
}

private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(fd, bytes, count) }
