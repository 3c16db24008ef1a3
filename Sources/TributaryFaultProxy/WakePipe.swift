import Glibc

/// A pipe used as a level-triggered flag another thread can `poll()`: once `raise()` has been
/// called, the read end stays readable (it is never drained) until `close()`.
final class WakePipe: @unchecked Sendable {
    let readFD: Int32
    private let writeFD: Int32

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw FaultProxyError.system("pipe", errno: errno) }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    /// Makes `readFD` readable. Safe from any thread until `close()`.
    func raise() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// Whether `raise()` has been called.
    var isRaised: Bool {
        var p = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    /// Closes both ends; callers make sure no one raises it afterwards.
    func close() {
        _ = Glibc.close(readFD)
        _ = Glibc.close(writeFD)
    }
}
