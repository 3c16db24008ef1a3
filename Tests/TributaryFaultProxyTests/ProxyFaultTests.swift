import Foundation
import Glibc
import Testing
import TributaryFaultProxy
import TributaryTestKit

@Suite(.serialized) struct ProxyFaultTests {
    @Test func cutsExactlyWherePlanned() throws {
        let h = try ProxyHarness(.sink) {
            $0.seed = 42
            $0.cutProbability = 0.5
            $0.cutAfter = ValueRange(70_000, 90_000)
        }
        let data = TestBytes.random(300_000, seed: 7)
        var planned: [UInt64?] = []
        for n in 1...6 {
            let plan = FaultPlan(configuration: h.proxy.configuration, connection: UInt64(n))
            planned.append(plan.cutAfter)
            let (received, _, sendError) = try h.exchange(data, chunk: 16_384)
            if plan.cutAfter == nil {
                #expect(sendError == nil && received.error == nil)
            } else {
                #expect(sendError == ECONNRESET || sendError == EPIPE || received.error == ECONNRESET)
            }
        }
        #expect(planned.contains(nil) && planned.contains { $0 != nil })  // seed 42 gives both kinds
        let served = h.server.waitForEnded(6)
        #expect(served.map { UInt64($0.received.count) } == planned.map { $0 ?? 300_000 })
        for (c, cut) in zip(served, planned) {
            #expect(c.received == Array(data.prefix(Int(cut ?? 300_000))))
        }
        let s = h.waitForStats { $0.active == 0 }
        #expect(s.cuts == UInt64(planned.compactMap { $0 }.count))
        #expect(s.bytesUp == planned.map { $0 ?? 300_000 }.reduce(0, +))
        #expect(h.log.filter { $0.contains("event=cut") }.count == Int(s.cuts))
    }

    @Test func cutsDownstreamExactly() throws {
        let answer = TestBytes.random(500_000, seed: 8)
        let h = try ProxyHarness(.source(answer)) {
            $0.cutProbability = 1
            $0.cutAfter = ValueRange(exactly: 12_345)
            $0.direction = .down
        }
        let fd = try TestSocket.connect(port: h.port)
        defer { close(fd) }
        let received = TestSocket.receiveAll(fd)
        #expect(received.bytes == Array(answer.prefix(12_345)))
        #expect(received.error == ECONNRESET)
        #expect(h.waitForStats { $0.cuts == 1 }.bytesDown == 12_345)
        #expect(h.log.contains { $0.contains("conn=1 event=cut after_bytes=12345 direction=down") })
    }

    @Test func flipsChangeOneBitEach() throws {
        let h = try ProxyHarness(.sink) {
            $0.flipProbability = 0.5
            $0.flipSkip = 1000
            $0.seed = 9
        }
        let data = TestBytes.random(400_000, seed: 9)
        let (_, _, sendError) = try h.exchange(data, chunk: 2000)
        #expect(sendError == nil)
        guard let got = h.server.waitForEnded(1).first?.received else {
            Issue.record("the target saw no connection")
            return
        }
        #expect(got.count == data.count)
        let differing = zip(data, got).map { ($0 ^ $1).nonzeroBitCount }
        let s = h.waitForStats { $0.active == 0 }
        #expect(s.flips > 0)
        #expect(UInt64(differing.reduce(0, +)) == s.flips)  // one bit per flip, never the same byte twice
        #expect(differing.prefix(1000).allSatisfy { $0 == 0 })  // --flip-skip spared the start
        #expect(h.log.filter { $0.contains("event=flip direction=up") }.count == Int(s.flips))
    }

    @Test func flipsDownstreamOnlyWhenAsked() throws {
        let h = try ProxyHarness(.echo) {
            $0.flipProbability = 1
            $0.direction = .down
        }
        let data = TestBytes.random(100_000, seed: 10)
        let (received, _, _) = try h.exchange(data)
        #expect(h.server.waitForEnded(1).first?.received == data)  // upstream untouched
        let differing = zip(data, received.bytes).map { ($0 ^ $1).nonzeroBitCount }.reduce(0, +)
        #expect(differing > 0 && UInt64(differing) == h.waitForStats { $0.active == 0 }.flips)
    }

    @Test func stallPausesOnceThenGoesOn() throws {
        let h = try ProxyHarness(.echo) {
            $0.stallProbability = 1
            $0.stallAfter = ValueRange(exactly: 1000)
            $0.stallMilliseconds = ValueRange(exactly: 400)
        }
        let data = TestBytes.random(50_000, seed: 11)
        let (received, seconds, _) = try h.exchange(data)
        #expect(received.bytes == data)
        #expect(seconds >= 0.35, "took \(seconds) s")
        #expect(h.waitForStats { $0.active == 0 }.stalls == 1)
        #expect(h.log.contains { $0.contains("conn=1 event=stall after_bytes=1000 ms=400") })
    }

    @Test func linkDownResetsAndRefusesUntilLinkUp() throws {
        let h = try ProxyHarness(.echo)
        let open = try TestSocket.connect(port: h.port)
        defer { close(open) }
        TestSocket.sendAll(open, [1, 2, 3])
        var echo = [UInt8](repeating: 0, count: 3)
        #expect(recv(open, &echo, 3, Int32(MSG_WAITALL)) == 3)
        _ = h.waitForStats { $0.active == 1 }

        h.proxy.setLink(up: false)
        let afterDown = TestSocket.receiveAll(open)
        #expect(afterDown.bytes.isEmpty && afterDown.error == ECONNRESET)
        #expect(h.waitForStats { $0.active == 0 }.linkUp == false)

        let refused = try TestSocket.connect(port: h.port)  // accepted by the kernel, then reset
        let r = TestSocket.receiveAll(refused)
        close(refused)
        #expect(r.bytes.isEmpty && r.error == ECONNRESET)
        #expect(h.waitForStats { $0.refused == 1 }.refused == 1)

        h.proxy.setLink(up: true)
        let data = TestBytes.random(10_000, seed: 12)
        #expect(try h.exchange(data).received.bytes == data)
        let s = h.waitForStats { $0.active == 0 && $0.connections == 2 }
        #expect(s.connections == 2 && s.refused == 1 && s.linkUp)
        #expect(h.log.contains { $0.contains("event=link_down closed_connections=1") })
        #expect(h.log.contains { $0.contains("event=link_up") })
        #expect(h.log.contains { $0.contains("event=refused reason=link_down") })
    }

    @Test func stopResetsOpenConnections() throws {
        let h = try ProxyHarness(.echo)
        let fd = try TestSocket.connect(port: h.port)
        defer { close(fd) }
        _ = h.waitForStats { $0.active == 1 }
        let started = Date()
        h.proxy.stop()
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(TestSocket.receiveAll(fd).error == ECONNRESET)
        #expect(h.proxy.stats.active == 0)
    }
}
