import Foundation
import Synchronization
import Testing
import TributaryDelivery
import TributaryTestKit
@testable import TributaryEdge

/// The runtime feeds `CoreFailover` from the services' outcomes: these check the wiring (which
/// outcomes count, the link starting afresh on the new core, the status and metrics), with an
/// injected clock.
@Suite struct AgentRuntimeFailoverTests {
    final class Clock: Sendable {
        let t = Mutex(1_000.0)
        func advance(_ d: Double) { t.withLock { $0 += d } }
        var now: Double { t.withLock { $0 } }
    }

    func make(_ clock: Clock) -> AgentRuntime {
        var c = EdgeConfiguration()
        c.site = "plant-a"
        c.coreURLs = ["http://127.0.0.1:1", "http://127.0.0.1:2"]
        c.downAfterFailures = 3
        c.failoverAfterSeconds = 5
        c.failbackProbeSeconds = 30
        return AgentRuntime(configuration: c, clock: { clock.now }, random: { 0.5 })
    }

    @Test func failsOverOnUnreachableOutcomesOnlyAndStartsTheNewLinkAfresh() {
        let clock = Clock()
        let r = make(clock)
        #expect(r.currentCore.index == 0 && r.currentCore.url == "http://127.0.0.1:1")
        // Answers that are errors (a 500, a 409) back off the link but are not "unreachable".
        for _ in 0..<5 {
            #expect(r.linkFailed("HTTP 500", core: 0, unreachable: false).switched == nil)
            clock.advance(2)
        }
        #expect(r.currentCore.index == 0 && r.link.state == .down)
        #expect(r.linkFailed("refused", core: 0, unreachable: true).switched == nil)
        clock.advance(3)
        #expect(r.linkFailed("refused", core: 0, unreachable: true).switched == nil)
        clock.advance(3)
        let (delay, s) = r.linkFailed("refused", core: 0, unreachable: true)
        #expect(s == CoreFailover.Switch(from: 0, to: 1, reason: .unreachable) && delay == 0)
        #expect(r.currentCore.index == 1 && r.link.state == .connecting && r.secondsUntilAttempt() == 0)
        #expect(r.coreChanged.consume())
        // A lane's request to the old core, in flight across the switch, changes nothing.
        let stale = r.linkFailed("refused", core: 0, unreachable: true)
        #expect(stale.delay == 0 && stale.switched == nil && r.currentCore.index == 1)
        #expect(r.link.consecutiveFailures == 0)
        r.linkSucceeded(core: 0)
        #expect(r.link.state == .connecting)
        r.linkSucceeded(core: 1)
        #expect(r.link.state == .up)
        let url = r.currentCore.url
        #expect(CoreFailover.upload("http://127.0.0.1:2/v1/uploads/x", isOn: url) && !CoreFailover.upload("http://127.0.0.1:1/v1/uploads/x", isOn: url))
    }

    @Test func probesThePreferredCoreAndReturns() {
        let clock = Clock()
        let r = make(clock)
        #expect(r.secondsUntilProbe() == nil && r.probeTargets().isEmpty)
        for _ in 0..<3 {
            _ = r.linkFailed("refused", core: 0, unreachable: true)
            clock.advance(3)
        }
        #expect(r.currentCore.index == 1)
        #expect(r.secondsUntilProbe() == 27)
        clock.advance(27)
        let targets = r.probeTargets()
        #expect(targets.map(\.index) == [0] && targets.map(\.url) == ["http://127.0.0.1:1"])
        #expect(r.probed(core: 0, reachable: false) == nil && r.currentCore.index == 1)
        clock.advance(30)
        #expect(r.probeTargets().map(\.index) == [0])
        #expect(r.probed(core: 0, reachable: true) == CoreFailover.Switch(from: 1, to: 0, reason: .preferred))
        #expect(r.currentCore.index == 0 && r.link.state == .up && r.secondsUntilProbe() == nil)
        let core = r.snapshot().core
        #expect(core?.index == 0 && core?.failovers == 1 && core?.returns == 1 && core?.cores.count == 2 && core?.nextProbeAt == nil)
    }

    @Test func statusAndMetricsNameTheCurrentCore() throws {
        let clock = Clock()
        let r = make(clock)
        for _ in 0..<3 {
            _ = r.linkFailed("refused", core: 0, unreachable: true)
            clock.advance(3)
        }
        let dir = try TemporaryDirectory()
        var c = EdgeConfiguration()
        c.site = "plant-a"
        var s = try Journal(spoolDirectory: dir.root).status(configuration: c)
        s.agentRunning = true
        s.agent = r.snapshot()
        // Through JSON, as `status` reads the running agent's view.
        let decoded = try JSONDecoder().decode(AgentRuntimeStatus.self, from: JSONEncoder().encode(r.snapshot()))
        #expect(decoded.core?.url == "http://127.0.0.1:2" && decoded.core?.index == 1 && decoded.core?.nextProbeAt != nil)
        let text = s.prometheusText(now: clock.now)
        #expect(text.contains("tributary_edge_core_current{site=\"plant-a\",core=\"http://127.0.0.1:1\",preference=\"0\"} 0\n"))
        #expect(text.contains("tributary_edge_core_current{site=\"plant-a\",core=\"http://127.0.0.1:2\",preference=\"1\"} 1\n"))
        #expect(text.contains("tributary_edge_core_switches_total{site=\"plant-a\",reason=\"unreachable\"} 1\n"))
        let rendered = s.rendered()
        #expect(rendered.contains("core http://127.0.0.1:2 (2 of 2"))
        #expect(rendered.contains("failovers 1, returns 0"))
    }
}
