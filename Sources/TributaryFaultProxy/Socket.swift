import Glibc

/// The few POSIX socket calls the proxy makes, with `EINTR` retried and errors as
/// `FaultProxyError`. Every descriptor is close-on-exec.
enum Socket {
    /// A non-blocking IPv4 listening socket bound to `endpoint`; returns it and the bound port.
    static func listen(on endpoint: Endpoint, backlog: Int32 = 128) throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FaultProxyError.system("socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = try socketAddress(endpoint)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let e = errno
            close(fd)
            throw FaultProxyError.system("bind \(endpoint)", errno: e)
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let e = errno
            close(fd)
            throw FaultProxyError.system("listen \(endpoint)", errno: e)
        }
        setNonBlocking(fd)
        return (fd, localPort(fd))
    }

    /// The port `fd` is bound to.
    static func localPort(_ fd: Int32) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    /// `HOST:PORT` of the peer of `fd`, for logs.
    static func peerName(_ fd: Int32) -> String {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard rc == 0 else { return "?" }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        var ip = address.sin_addr
        inet_ntop(AF_INET, &ip, &text, socklen_t(text.count))
        let host = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return "\(host):\(UInt16(bigEndian: address.sin_port))"
    }

    /// Connects a new non-blocking socket to `endpoint`, giving up after `timeoutMilliseconds`
    /// or as soon as `abort` becomes readable. Returns the socket, or the reason it failed.
    static func connect(to endpoint: Endpoint, timeoutMilliseconds: Int, abort: Int32) -> Result<Int32, FaultProxyError> {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(.system("socket", errno: errno)) }
        setNonBlocking(fd)
        let failed: (FaultProxyError) -> Result<Int32, FaultProxyError> = { e in
            close(fd)
            return .failure(e)
        }
        var address: sockaddr_in
        do { address = try socketAddress(endpoint) } catch let e as FaultProxyError { return failed(e) } catch { return failed(FaultProxyError(.system, "\(error)")) }
        var rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc == 0 { return .success(fd) }
        guard errno == EINPROGRESS || errno == EINTR else { return failed(.system("connect \(endpoint)", errno: errno)) }
        let deadline = MonotonicClock.nanoseconds() + UInt64(timeoutMilliseconds) * 1_000_000
        while true {
            let now = MonotonicClock.nanoseconds()
            guard now < deadline else { return failed(.system("connect \(endpoint)", errno: ETIMEDOUT)) }
            var fds = [pollfd(fd: fd, events: Int16(POLLOUT), revents: 0), pollfd(fd: abort, events: Int16(POLLIN), revents: 0)]
            rc = poll(&fds, 2, Int32((deadline - now + 999_999) / 1_000_000))
            if rc < 0 {
                if errno == EINTR { continue }
                return failed(.system("poll", errno: errno))
            }
            if fds[1].revents != 0 { return failed(FaultProxyError(.system, "connect \(endpoint): aborted (link down or stopping)")) }
            if fds[0].revents != 0 { break }
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else { return failed(.system("connect \(endpoint)", errno: error)) }
        return .success(fd)
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// Turns Nagle off: the proxy forwards what it reads at once, as a wire would.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Closes `fd` abortively: `SO_LINGER` 0 makes the kernel send RST and drop unsent data.
    static func reset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }

    /// Bytes written to `fd` that its peer has not acknowledged yet (`SIOCOUTQ`).
    static func unacknowledged(_ fd: Int32) -> Int {
        var count: Int32 = 0
        guard ioctl(fd, UInt(TIOCOUTQ), &count) == 0 else { return 0 }
        return Int(count)
    }

    static func socketAddress(_ endpoint: Endpoint) throws -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = endpoint.port.bigEndian
        guard inet_pton(AF_INET, endpoint.host, &address.sin_addr) == 1 else {
            throw FaultProxyError(.invalidArgument, "\(endpoint.host) is not an IPv4 address")
        }
        return address
    }
}
