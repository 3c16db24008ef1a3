import Foundation
import Glibc
import Testing
import TributaryFaultProxy
import TributaryTestKit

/// Real sockets on 127.0.0.1: a proxy in front of an in-process server. Serialized so the
/// timing assertions do not compete for the machine's two cores.
@Suite(.serialized) struct ProxyForwardingTests {
    @Test func forwardsFiveMegabytesBothWaysUnchanged() throws {
        let h = try ProxyHarness(.echo)
        let data = TestBytes.random(5_000_000, seed: 1)
        let (received, _, sendError) = try h.exchange(data)
        #expect(sendError == nil && received.error == nil)
        #expect(received.bytes.count == data.count)
        #expect(received.bytes == data)
        let s = h.waitForStats { $0.active == 0 }
        #expect(s.connections == 1 && s.active == 0 && s.bytesUp == 5_000_000 && s.bytesDown == 5_000_000)
        #expect(s.cuts == 0 && s.stalls == 0 && s.flips == 0 && s.refused == 0 && s.linkUp)
    }

    @Test func halfCloseKeepsTheOtherDirectionGoing() throws {
        // The target sends its whole answer and FIN at once, while the client is still sending.
        let answer = TestBytes.random(1_000_000, seed: 2)
        let h = try ProxyHarness(.source(answer))
        let upload = TestBytes.random(2_000_000, seed: 3)
        let (received, _, sendError) = try h.exchange(upload)
        #expect(sendError == nil && received.error == nil)
        #expect(received.bytes == answer)
        let served = h.server.waitForEnded(1)
        #expect(served.first?.received == upload)
    }

    @Test func manyConnectionsAtOnce() throws {
        let h = try ProxyHarness(.echo)
        let results = Locked<[Bool]>([])
        let group = DispatchGroup()
        for i in 0..<16 {
            group.enter()
            Thread {
                let data = TestBytes.random(200_000, seed: UInt64(100 + i))
                let ok = (try? h.exchange(data, chunk: 4096))?.received.bytes == data
                results.withLock { $0.append(ok) }
                group.leave()
            }.start()
        }
        #expect(group.wait(timeout: .now() + 20) == .success)
        #expect(results.withLock { $0 } == Array(repeating: true, count: 16))
        let s = h.waitForStats { $0.active == 0 }
        #expect(s.connections == 16 && s.bytesUp == 16 * 200_000 && s.bytesDown == 16 * 200_000)
    }

    @Test func throttleSlowsBothDirections() throws {
        let h = try ProxyHarness(.echo) { $0.throttleBytesPerSecond = 200_000 }
        let data = TestBytes.random(300_000, seed: 4)
        let (received, seconds, _) = try h.exchange(data)
        #expect(received.bytes == data)
        // 300 kB at 200 kB/s is 1.5 s (less one 20 ms burst); the echo path runs both lanes
        // in parallel. Only a generous lower bound is asserted.
        #expect(seconds >= 1.2, "took \(seconds) s")
    }

    @Test func unreachableTargetClosesTheClient() throws {
        let server = try TestServer(.sink)
        let closed = try TestSocket.closedPort()
        let lines = Locked<[String]>([])
        let c = FaultProxyConfiguration(listen: Endpoint(host: "127.0.0.1", port: 0), target: Endpoint(host: "127.0.0.1", port: closed))
        let proxy = FaultProxy(configuration: c, log: FaultProxyLog { line in lines.withLock { $0.append(line) } })
        defer { proxy.stop(); server.stop() }
        let port = try proxy.start()
        let fd = try TestSocket.connect(port: port)
        defer { close(fd) }
        let started = Date()
        let received = TestSocket.receiveAll(fd)
        #expect(received.bytes.isEmpty && received.error == nil)  // a clean close
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(lines.withLock { $0 }.contains { $0.contains("conn=1 event=connect_failed target=127.0.0.1:\(closed)") })
    }

    @Test func writesPortFileAndStatsFile() throws {
        let dir = try TemporaryDirectory(prefix: "faultproxy")
        let h = try ProxyHarness(.echo) {
            $0.statsPath = dir.path("stats.json")
            $0.portFilePath = dir.path("port")
        }
        #expect(try String(contentsOfFile: dir.path("port"), encoding: .utf8) == "\(h.port)\n")
        let first = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path("stats.json")))) as? [String: Any]
        #expect(first?["connections"] as? Int == 0)

        _ = try h.exchange(TestBytes.random(1000, seed: 5))
        _ = try h.exchange(TestBytes.random(2000, seed: 6))
        _ = h.waitForStats { $0.active == 0 }
        h.proxy.stop()
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path("stats.json")))) as! [String: Any]
        #expect(Set(json.keys) == ["connections", "active", "bytes_up", "bytes_down", "cuts", "stalls", "flips", "refused", "link"])
        #expect(json["connections"] as? Int == 2 && json["active"] as? Int == 0)
        #expect(json["bytes_up"] as? Int == 3000 && json["bytes_down"] as? Int == 3000)
        #expect(json["link"] as? String == "up")
        #expect(!FileManager.default.fileExists(atPath: dir.path("stats.json.tmp-\(getpid())")))
    }
}
