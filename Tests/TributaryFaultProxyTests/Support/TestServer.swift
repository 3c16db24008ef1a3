import Foundation
import Glibc
import Synchronization

/// A tiny in-process TCP server on 127.0.0.1 for the proxy to forward to: one thread accepts,
/// one thread per connection serves it, and everything each connection received is recorded.
final class TestServer: Sendable {
    enum Mode: Sendable {
        /// Sends back everything it reads; passes the client's FIN on.
        case echo
        /// Reads and keeps everything; closes after the client's FIN.
        case sink
        /// Sends these bytes and FIN, and reads (keeping it) until the client's FIN.
        case source([UInt8])
    }

    /// One served connection.
    struct Connection: Sendable {
        var received: [UInt8] = []
        /// The connection is over (EOF, error or timeout).
        var ended = false
        /// The errno that ended it, nil for a clean EOF.
        var error: Int32?
    }

    let port: UInt16
    private let listener: Int32
    private let mode: Mode
    private let state = Mutex<(connections: [Connection], stopped: Bool)>(([], false))

    init(_ mode: Mode) throws {
        self.mode = mode
        (listener, port) = try TestSocket.listen()
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    func stop() { state.withLock { $0.stopped = true } }

    var connections: [Connection] { state.withLock { $0.connections } }

    /// Waits (≤ `seconds`) until at least `count` connections have ended; returns them all.
    func waitForEnded(_ count: Int, seconds: Double = 5) -> [Connection] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let c = connections
            if c.filter(\.ended).count >= count { return c }
            usleep(5_000)
        }
        return connections
    }

    private func acceptLoop() {
        defer { close(listener) }
        while !state.withLock({ $0.stopped }) {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            TestSocket.setTimeouts(fd)
            let index = state.withLock { s in
                s.connections.append(Connection())
                return s.connections.count - 1
            }
            let thread = Thread { [self] in serve(fd, index) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32, _ index: Int) {
        defer { close(fd) }
        if case .source(let bytes) = mode {
            TestSocket.sendAll(fd, bytes)
            shutdown(fd, Int32(SHUT_WR))
        }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                state.withLock { $0.connections[index].received.append(contentsOf: buffer[0..<n]) }
                if case .echo = mode, TestSocket.sendAll(fd, Array(buffer[0..<n])) != nil {
                    return end(index, error: errno)
                }
            } else if n == 0 {
                if case .source = mode {} else { shutdown(fd, Int32(SHUT_WR)) }
                return end(index, error: nil)
            } else if errno != EINTR {
                return end(index, error: errno)
            }
        }
    }

    private func end(_ index: Int, error: Int32?) {
        state.withLock { s in
            s.connections[index].ended = true
            s.connections[index].error = error
        }
    }
}
