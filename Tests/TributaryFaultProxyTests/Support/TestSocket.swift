import Glibc
import TributaryTestKit

/// Blocking loopback sockets for the tests, every one with send and receive timeouts so no test
/// can hang on a socket.
enum TestSocket {
    /// Default timeout of every test socket.
    static let timeoutSeconds = 5

    /// A listening socket on 127.0.0.1 with a kernel-chosen port.
    static func listen() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TributaryTestError("socket: errno \(errno)") }
        var address = loopback(port: 0)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0, Glibc.listen(fd, 64) == 0 else {
            close(fd)
            throw TributaryTestError("bind/listen: errno \(errno)")
        }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: bound.sin_port))
    }

    /// A port nothing listens on (bound, then closed).
    static func closedPort() throws -> UInt16 {
        let (fd, port) = try listen()
        close(fd)
        return port
    }

    /// A connected socket to 127.0.0.1:`port`.
    static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TributaryTestError("socket: errno \(errno)") }
        setTimeouts(fd)
        var address = loopback(port: port)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw TributaryTestError("connect 127.0.0.1:\(port): errno \(e)")
        }
        return fd
    }

    static func setTimeouts(_ fd: Int32, seconds: Int = timeoutSeconds) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends all of `bytes` (in slices of `chunk`); returns the errno that stopped it, or nil.
    @discardableResult
    static func sendAll(_ fd: Int32, _ bytes: [UInt8], chunk: Int = 65_536) -> Int32? {
        var done = 0
        return bytes.withUnsafeBytes { p -> Int32? in
            while done < p.count {
                let n = send(fd, p.baseAddress! + done, min(chunk, p.count - done), Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += n
            }
            return nil
        }
    }

    /// What `receiveAll` got: the bytes, and the errno that ended it (nil for a clean EOF).
    struct Received {
        var bytes: [UInt8] = []
        var error: Int32?
    }

    /// Reads until EOF, an error, a receive timeout or `limit` bytes.
    static func receiveAll(_ fd: Int32, limit: Int = 64 << 20) -> Received {
        var out = Received()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while out.bytes.count < limit {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                out.bytes.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                return out
            } else if errno != EINTR {
                out.error = errno
                return out
            }
        }
        return out
    }

    /// Closes `fd` with RST.
    static func reset(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
