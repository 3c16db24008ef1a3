#if canImport(Glibc)
import Glibc
#endif
import CPosix
import TributaryCurl

/// Waits for file descriptors (inotify instances) to become readable without polling: a thread of
/// its own blocks in poll(2) until one is readable, the time is up, or the task is cancelled (a
/// pipe the cancellation handler writes to ends the poll at once, so a graceful shutdown never
/// waits out a long timer). An idle wait costs no wake-up at all.
enum ReadableWait {
    /// The descriptors of `fds` that are readable (empty: time up or cancelled). `milliseconds`
    /// < 0: no time limit.
    static func readable(_ fds: [Int32], milliseconds: Int) async -> Set<Int32> {
        if Task.isCancelled { return [] }
        var pair: [Int32] = [-1, -1]
        guard tributary_pipe2(&pair, O_CLOEXEC | O_NONBLOCK) == 0 else {
            // No pipe (descriptors exhausted): a bounded wait, so cancellation is still seen soon.
            let limit = milliseconds < 0 ? 1000 : min(milliseconds, 1000)
            return (try? await BlockingThread.run { poll(fds, cancel: -1, milliseconds: limit) }) ?? []
        }
        let (cancelRead, cancelWrite) = (pair[0], pair[1])
        defer {
            close(cancelRead)
            close(cancelWrite)
        }
        return await withTaskCancellationHandler {
            (try? await BlockingThread.run { poll(fds, cancel: cancelRead, milliseconds: milliseconds) }) ?? []
        } onCancel: {
            var byte: UInt8 = 1
            _ = write(cancelWrite, &byte, 1)
        }
    }

    private static func poll(_ fds: [Int32], cancel: Int32, milliseconds: Int) -> Set<Int32> {
        var entries = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if cancel >= 0 { entries.append(pollfd(fd: cancel, events: Int16(POLLIN), revents: 0)) }
        let timeout = milliseconds < 0 ? Int32(-1) : Int32(clamping: milliseconds)
        var n: Int32
        repeat { n = Glibc.poll(&entries, nfds_t(entries.count), timeout) } while n < 0 && errno == EINTR
        guard n > 0 else { return [] }
        return Set(entries.prefix(fds.count).filter { $0.revents != 0 }.map(\.fd))
    }
}
