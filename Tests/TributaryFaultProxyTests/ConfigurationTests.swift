import Testing
@testable import TributaryFaultProxy

@Suite struct ConfigurationTests {
    @Test func rangesParse() throws {
        #expect(try ValueRange.parse("65536-1048576", flag: "--cut-after") == ValueRange(65_536, 1_048_576))
        #expect(try ValueRange.parse("1000", flag: "--cut-after") == ValueRange(exactly: 1000))
        #expect(try ValueRange.parse(" 0-0 ", flag: "--stall-after") == ValueRange(exactly: 0))
        #expect(try ValueRange.parse("7-7", flag: "--stall-ms").description == "7")
    }

    @Test(arguments: [
        ("9-3", "--cut-after \"9-3\": minimum 9 is above maximum 3"),
        ("", "--cut-after \"\": expected MIN-MAX or a single number"),
        ("abc", "--cut-after \"abc\": \"abc\" is not a whole number; expected MIN-MAX or a single number"),
        ("-5", "--cut-after \"-5\": negative numbers are not allowed; expected MIN-MAX"),
        ("1-", "--cut-after \"1-\": \"\" is not a whole number; expected MIN-MAX or a single number"),
        ("1-2-3", "--cut-after \"1-2-3\": expected MIN-MAX or a single number"),
        ("1.5-2", "--cut-after \"1.5-2\": \"1.5\" is not a whole number; expected MIN-MAX or a single number"),
        ("99999999999999999999", "--cut-after \"99999999999999999999\": 99999999999999999999 is too large"),
    ])
    func rangeErrorsNameFlagAndValue(text: String, message: String) {
        #expect(throws: FaultProxyError(.invalidArgument, message)) { try ValueRange.parse(text, flag: "--cut-after") }
    }

    @Test func defaultsAreDocumentedOnes() throws {
        let c = try FaultProxyConfiguration(flags: ["listen": "127.0.0.1:0", "target": "localhost:9000"])
        #expect(c.listen == Endpoint(host: "127.0.0.1", port: 0))
        #expect(c.target == Endpoint(host: "127.0.0.1", port: 9000))
        #expect(c.seed == 1)
        #expect(c.cutProbability == 0 && c.cutAfter == ValueRange(65_536, 1_048_576))
        #expect(c.stallProbability == 0 && c.stallAfter == ValueRange(0, 1_048_576) && c.stallMilliseconds == ValueRange(exactly: 20_000))
        #expect(c.throttleBytesPerSecond == 0 && c.flipProbability == 0 && c.flipSkip == 0)
        #expect(c.direction == .up && c.logLevel == .info && c.statsPath == nil && c.portFilePath == nil)
    }

    @Test func everyFlagIsRead() throws {
        let c = try FaultProxyConfiguration(flags: [
            "listen": "127.0.0.1:7000", "target": "127.0.0.1:8000", "seed": "99", "cut-probability": "0.5", "cut-after": "10-20",
            "stall-probability": "1", "stall-after": "5", "stall-ms": "100-200", "throttle": "1000", "flip-probability": "1e-3",
            "flip-skip": "512", "direction": "both", "stats": "/tmp/s.json", "port-file": "/tmp/p", "log-level": "debug",
        ])
        #expect(c.seed == 99 && c.cutProbability == 0.5 && c.cutAfter == ValueRange(10, 20))
        #expect(c.stallProbability == 1 && c.stallAfter == ValueRange(exactly: 5) && c.stallMilliseconds == ValueRange(100, 200))
        #expect(c.throttleBytesPerSecond == 1000 && c.flipProbability == 0.001 && c.flipSkip == 512)
        #expect(c.direction == .both && c.statsPath == "/tmp/s.json" && c.portFilePath == "/tmp/p" && c.logLevel == .debug)
    }

    @Test(arguments: [
        (["target": "127.0.0.1:1"], "--listen HOST:PORT is required"),
        (["listen": "127.0.0.1:1"], "--target HOST:PORT is required"),
        (["listen": "127.0.0.1", "target": "127.0.0.1:1"], "--listen \"127.0.0.1\": expected HOST:PORT, e.g. 127.0.0.1:8080"),
        (["listen": "example.com:80", "target": "127.0.0.1:1"], "--listen \"example.com:80\": host \"example.com\" is not an IPv4 address (e.g. 127.0.0.1)"),
        (["listen": "127.0.0.1:70000", "target": "127.0.0.1:1"], "--listen \"127.0.0.1:70000\": port \"70000\" is not a number from 0 to 65535"),
        (["listen": "127.0.0.1:0", "target": "127.0.0.1:0"], "--target \"127.0.0.1:0\": port 0 is not a port to connect to"),
        (["listen": "127.0.0.1:0", "target": "127.0.0.1:1", "cut-probability": "1.5"], "--cut-probability \"1.5\": must be from 0 to 1"),
        (["listen": "127.0.0.1:0", "target": "127.0.0.1:1", "flip-probability": "often"], "--flip-probability \"often\": expected a probability from 0 to 1, e.g. 0.25"),
        (["listen": "127.0.0.1:0", "target": "127.0.0.1:1", "seed": "-1"], "--seed \"-1\": expected a whole number of 0 or more"),
        (["listen": "127.0.0.1:0", "target": "127.0.0.1:1", "direction": "sideways"], "--direction \"sideways\": expected up, down or both"),
        (["listen": "127.0.0.1:0", "target": "127.0.0.1:1", "log-level": "trace"], "--log-level \"trace\": expected info or debug"),
        (["listen": "127.0.0.1:0", "target": "127.0.0.1:1", "stall-ms": "99999999999"], "--stall-ms \"99999999999\": must be at most 86400000 (one day)"),
        (["listen": "127.0.0.1:0", "target": "127.0.0.1:1", "bogus": "1"], "unknown flag --bogus"),
    ])
    func flagErrors(flags: [String: String], message: String) {
        #expect(throws: FaultProxyError(.invalidArgument, message)) { try FaultProxyConfiguration(flags: flags) }
    }
}
