import Glibc

/// One direction of a connection: bytes read from `source` wait in a fixed buffer until they are
/// written to `destination`. The buffer is the only memory a direction holds, so a slow reader
/// simply stops the proxy reading from the writer (backpressure).
struct Lane {
    /// `up` (client → target) or `down`, for logs.
    let name: String
    let source: Int32
    let destination: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// The source sent FIN (read returned 0).
    private(set) var sourceEnded = false
    /// FIN was passed on: `shutdown(destination, SHUT_WR)` after the last buffered byte.
    private(set) var finished = false
    /// Bytes written to the destination.
    private(set) var delivered: UInt64 = 0
    var bucket: TokenBucket?
    var flipper: BitFlipper?

    /// What an attempt to move bytes ended in.
    enum Outcome {
        case progressed(Int)
        case wouldBlock
        /// The peer reset the connection or another unrecoverable error.
        case failed(Int32)
    }

    init(name: String, source: Int32, destination: Int32, capacity: Int) {
        self.name = name
        self.source = source
        self.destination = destination
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    func deallocate() { buffer.deallocate() }

    var pending: Int { end - start }
    /// Whether a read has room and the source has not ended.
    var wantsRead: Bool { !sourceEnded && end < buffer.count }

    /// Reads what fits into the buffer; applies the flip for this chunk, returned with it.
    mutating func read() -> (Outcome, BitFlipper.Flip?) {
        let n = recv(source, buffer.baseAddress! + end, buffer.count - end, 0)
        if n > 0 {
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[end..<(end + n)])
            end += n
            return (.progressed(n), flipper?.apply(to: chunk))
        }
        if n == 0 {
            sourceEnded = true
            return (.progressed(0), nil)
        }
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wouldBlock : .failed(errno), nil)
    }

    /// Writes up to `limit` buffered bytes to the destination.
    mutating func write(limit: Int) -> Outcome {
        let count = min(limit, pending)
        guard count > 0 else { return .wouldBlock }
        let n = send(destination, buffer.baseAddress! + start, count, Int32(MSG_NOSIGNAL))
        if n > 0 {
            start += n
            delivered += UInt64(n)
            if start == end {
                start = 0
                end = 0
            }
            return .progressed(n)
        }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wouldBlock : .failed(errno)
    }

    /// Passes the source's FIN on once everything before it has been written.
    mutating func finishIfDrained() {
        guard sourceEnded, pending == 0, !finished else { return }
        shutdown(destination, Int32(SHUT_WR))
        finished = true
    }
}
