import Foundation
import Glibc
import TributaryFaultProxy

/// A proxy on 127.0.0.1 (ephemeral port) in front of a `TestServer`, logging into memory.
final class ProxyHarness: Sendable {
    let server: TestServer
    let proxy: FaultProxy
    let port: UInt16
    private let lines = Locked<[String]>([])

    /// Starts `server` and a proxy to it; `configure` sets the faults.
    init(_ mode: TestServer.Mode, _ configure: (inout FaultProxyConfiguration) -> Void = { _ in }) throws {
        server = try TestServer(mode)
        var c = FaultProxyConfiguration(listen: Endpoint(host: "127.0.0.1", port: 0), target: Endpoint(host: "127.0.0.1", port: server.port))
        c.logLevel = .debug
        configure(&c)
        let lines = self.lines
        proxy = FaultProxy(configuration: c, log: FaultProxyLog(level: c.logLevel) { line in lines.withLock { $0.append(line) } })
        port = try proxy.start()
    }

    deinit {
        proxy.stop()
        server.stop()
    }

    var log: [String] { lines.withLock { $0 } }

    /// Waits (≤ `seconds`) until `condition` holds for the proxy's stats; returns them.
    func waitForStats(seconds: Double = 5, _ condition: (FaultProxyStats) -> Bool) -> FaultProxyStats {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, !condition(proxy.stats) { usleep(5_000) }
        return proxy.stats
    }

    /// Connects through the proxy, sends `bytes` (then FIN) from a second thread while reading
    /// until EOF here. Returns what came back and how long it took.
    func exchange(_ bytes: [UInt8], chunk: Int = 65_536) throws -> (received: TestSocket.Received, seconds: Double, sendError: Int32?) {
        let fd = try TestSocket.connect(port: port)
        defer { close(fd) }
        let started = Date()
        let sendError = Locked<Int32?>(nil)
        let done = DispatchSemaphore(value: 0)
        let writer = Thread {
            let e = TestSocket.sendAll(fd, bytes, chunk: chunk)
            if e == nil { shutdown(fd, Int32(SHUT_WR)) }
            sendError.withLock { $0 = e }
            done.signal()
        }
        writer.start()
        let received = TestSocket.receiveAll(fd)
        _ = done.wait(timeout: .now() + 10)
        return (received, Date().timeIntervalSince(started), sendError.withLock { $0 })
    }
}
