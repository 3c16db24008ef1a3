import Foundation
import Testing
import TributaryTOML

/// The value as Python's `json.dumps` writes it (keys in document order), so the shipped examples
/// can be compared with what `tomllib` (a reference TOML 1.0 reader) reads from them.
func json(_ v: TOMLValue) -> String {
    switch v {
    case .string(let s): return "\"" + s.unicodeScalars.map { $0 == "\"" || $0 == "\\" ? "\\" + String($0) : String($0) }.joined() + "\""
    case .integer(let i): return String(i)
    case .float(let d): return String(d)
    case .boolean(let b): return b ? "true" : "false"
    case .array(let a): return "[" + a.map(json).joined(separator: ", ") + "]"
    case .table(let t): return json(t)
    }
}

func json(_ t: TOMLTable) -> String {
    "{" + t.keys.map { json(.string($0)) + ": " + json(t[$0] ?? .string("?")) }.joined(separator: ", ") + "}"
}

let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func refused(_ text: String, limits: TOMLLimits = TOMLLimits()) -> TOMLError? {
    do {
        _ = try TOMLParser.parse(text, limits: limits)
        return nil
    } catch let e as TOMLError {
        return e
    } catch {
        return TOMLError(line: 0, column: 0, message: "not a TOMLError: \(error)")
    }
}

@Suite struct TOMLParserTests {
    /// Every configuration example shipped in the repository reads as `tomllib` reads it
    /// (the expected strings are `json.dumps(tomllib.load(…))`, Python 3.11+; when an example changes,
    /// regenerate with `python3 -c 'import json,tomllib; print(json.dumps(tomllib.load(open("edge/tributary-edge.toml","rb"))))'`).
    @Test func shippedExamplesReadAsTheReferenceReadsThem() throws {
        let edge = try TOMLParser.parse(try String(contentsOf: repo.appendingPathComponent("edge/tributary-edge.toml"), encoding: .utf8))
        #expect(
            json(edge)
                == #"{"edge": {"site": "plant-a", "token": "trb_replace_me", "core_url": "http://127.0.0.1:8080", "inbox": "./tributary-data/edge/inbox", "spool_dir": "./tributary-data/edge/spool", "inbox_policy": "delete", "default_stream": "default", "settle_ms": 2000, "poll_ms": 1000, "inotify": true, "max_spool_bytes": 4294967296, "max_spool_objects": 1000000, "full_policy": "block", "segment_max_bytes": 8388608, "segment_max_objects": 1000, "segment_max_age_ms": 5000, "segment_idle_linger_ms": 100, "zstd_small_segment_level": 19, "segment_manifest_version": 2, "dictionary_bytes": 16384, "dictionary_sample_bytes": 524288, "dictionary_sample_object_bytes": 8192, "dictionary_retrain_objects": 100000, "large_object_bytes": 8388608, "incompressible_alone_bytes": 262144, "have_check_min_bytes": 4096, "batches_ahead": 2, "chunk_bytes": 16777216, "chunk_floor_bytes": 32768, "poison_after_failures": 5, "connect_timeout_seconds": 10, "stall_seconds": 15, "bandwidth_bytes_per_second": 0, "bandwidth_schedule": [{"from": "08:00", "to": "18:00", "bytes_per_second": 250000}], "retry_base_ms": 500, "retry_cap_ms": 60000, "down_after_failures": 3, "priorities": {"alarms": 10}, "heartbeat_seconds": 30, "heartbeat_min_interval_seconds": 5, "log_level": "info"}}"#
        )
        let core = try TOMLParser.parse(try String(contentsOf: repo.appendingPathComponent("core/tributary-core.toml"), encoding: .utf8))
        #expect(
            json(core)
                == #"{"data_dir": "/var/lib/tributary/core", "listen": "127.0.0.1:8080", "partition_template": "stream={stream}/site={site}/date={date}", "max_upload_bytes": 17179869184, "max_decoded_bytes": 68719476736, "upload_expiry_seconds": 604800, "sweep_interval_seconds": 60, "idle_timeout_seconds": 60, "offline_after_seconds": 300, "lagging_after_seconds": 900, "dropping_window_seconds": 3600, "backlog_history_step_seconds": 60, "backlog_history_seconds": 86400, "log_level": "info"}"#
        )
        let readme = try String(contentsOf: repo.appendingPathComponent("edge/README.md"), encoding: .utf8)
        let blocks = readme.components(separatedBy: "```toml\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(
            try blocks.map { json(try TOMLParser.parse($0)) } == [
                #"{"source": [{"name": "cams", "type": "s3", "endpoint": "http://127.0.0.1:8333", "bucket": "site-data", "prefix": "outgoing", "region": "us-east-1", "poll_seconds": 30, "after": "keep"}]}"#,
                #"{"core": ["https://core-eu.example", "https://core-us.example"], "failover_after_seconds": 10, "failback_probe_seconds": 60}"#,
            ]
        )
    }

    @Test func theWholeSubset() throws {
        let t = try TOMLParser.parse(
            """
            \u{FEFF}# a comment
            top = "x"   # after a value
            "quoted key" = 'C:\\path'
            'lit.key' = 1
            a.b.c = true
            a.b.d = false
            ints = [0, +7, -12, 1_000, 0xDEAD_beef, 0o755, 0b1010, 9223372036854775807, -9223372036854775808]
            floats = [1.5, -0.25, 6e2, 1E-2, 3.141_5, +inf, -inf]
            escapes = "tab\\t nl\\n quote\\" back\\\\ u\\u00e9 U\\U0001F600 \\b\\f\\r"
            ml = \"\"\"
            line one
            line \\
                two\"\"\"\"
            mll = '''
            raw \\n 'q' ''''
            nested = [ [1, 2], ["a", 'b'], [], [ { x = 1, y.z = "w" } ], ]
            multi = [
              1,  # one
              2,
            ]
            empty = {}
            [edge]
            site = "s"
            priorities = { alarms = 10, "odd key" = -1 }
            [edge.deeper]
            k = 2
            [[edge.source]]
            name = "one"
            [[edge.source]]
            name = "two"
            [edge.source.inner]
            v = 3
            [[source]]
            name = "top"
            """)
        #expect(t.keys == ["top", "quoted key", "lit.key", "a", "ints", "floats", "escapes", "ml", "mll", "nested", "multi", "empty", "edge", "source"])
        #expect(t["top"] == .string("x") && t["quoted key"] == .string("C:\\path") && t["lit.key"] == .integer(1))
        #expect(t["a"]?.table?["b"]?.table?["c"] == .boolean(true) && t["a"]?.table?["b"]?.table?["d"] == .boolean(false))
        #expect(t["ints"] == .array([0, 7, -12, 1000, 0xDEAD_BEEF, 0o755, 0b1010, Int.max, Int.min].map { .integer($0) }))
        #expect(t["floats"] == .array([1.5, -0.25, 600, 0.01, 3.1415, .infinity, -.infinity].map { .float($0) }))
        #expect(t["escapes"] == .string("tab\t nl\n quote\" back\\ u\u{e9} U\u{1F600} \u{8}\u{c}\r"))
        #expect(t["ml"] == .string("line one\nline two\""))
        #expect(t["mll"] == .string("raw \\n 'q' '"))
        #expect(json(t["nested"] ?? .array([])) == #"[[1, 2], ["a", "b"], [], [{"x": 1, "y": {"z": "w"}}]]"#)
        #expect(t["multi"] == .array([.integer(1), .integer(2)]) && t["empty"] == .table(TOMLTable()))
        let edge = try #require(t["edge"]?.table)
        #expect(edge.keys == ["site", "priorities", "deeper", "source"])
        #expect(json(edge["priorities"] ?? .array([])) == #"{"alarms": 10, "odd key": -1}"#)
        #expect(json(edge["source"] ?? .array([])) == #"[{"name": "one"}, {"name": "two", "inner": {"v": 3}}]"#)
        #expect(json(t["source"] ?? .array([])) == #"[{"name": "top"}]"#)
        if case .float(let nan)? = try TOMLParser.parse("x = nan")["x"] { #expect(nan.isNaN) } else { Issue.record("nan") }
        #expect(try TOMLParser.parse("a = 1\r\nb = 2\r\n")["b"] == .integer(2))
        #expect(try TOMLParser.parse("").isEmpty)
        // A sub-table of a table made by dotted keys may be opened by a header (TOML 1.0 example).
        #expect(try TOMLParser.parse("[fruit]\napple.color = \"red\"\n[fruit.apple.texture]\nsmooth = true\n")["fruit"]?.table?["apple"]?.table?.keys == ["color", "texture"])
        // A table implied by a header may be defined later, once.
        #expect(try TOMLParser.parse("[x.y.z]\n[x]\nk = 1\n")["x"]?.table?.keys == ["y", "k"])
    }

    /// Each broken document is refused with the line and column of the mistake.
    @Test(arguments: [
        ("a = 1\na = 2", 2, 1, "defined twice"),
        ("[a]\nx = 1\n[a]", 3, 1, "defined twice"),
        ("a = \"open", 1, 5, "not closed"),
        ("a = 1979-05-27", 1, 5, "dates and times"),
        ("a = 07:32:00", 1, 5, "dates and times"),
        ("a = 01", 1, 5, "leading zeros"),
        ("a = 9223372036854775808", 1, 5, "64-bit"),
        ("a = -9223372036854775809", 1, 5, "64-bit"),
        ("a = 0x1_0000_0000_0000_0000", 1, 5, "64-bit"),
        ("a = +0x10", 1, 5, "sign"),
        ("a = 1_", 1, 5, "'_'"),
        ("a = 1__2", 1, 5, "'_'"),
        ("a = 1.", 1, 5, "after the '.'"),
        ("a = 1e400", 1, 5, "range"),
        ("a = 1\n\nb = [1,\n 2", 3, 5, "not closed"),
        ("a = [1 2]", 1, 8, "expected ','"),
        ("a = { b = 1,\n c = 2 }", 1, 13, "on the line it opens"),
        ("a = { b = 1, }", 1, 14, "expected a key"),
        ("a = \"bad \\q\"", 1, 10, "unknown escape"),
        ("a = \"\\uD800\"", 1, 6, "Unicode scalar"),
        ("a = \"\\u12\"", 1, 6, "hexadecimal"),
        ("a.b = 1\n[a]", 2, 1, "dotted keys"),
        ("[a]\nb = 1\n[x]\n[a.c]\n[a]", 5, 1, "defined twice"),
        ("[[a]]\n[a]", 2, 1, "array of tables"),
        ("[a]\n[[a]]", 2, 1, "not an array of tables"),
        ("a = [1]\n[[a]]", 2, 1, "an array, not a table"),
        ("a = { b = 1 }\n[a.c]", 2, 1, "inline table"),
        ("a = { b = 1 }\na.c = 2", 2, 1, "inline table"),
        ("[a]\nb.c = 1\n[a.b]", 3, 1, "dotted keys"),
        ("[x.y]\n[x]\ny.z = 1", 3, 1, "table defined elsewhere"),
        ("a = 1 b = 2", 1, 7, "end of the line"),
        ("a = 1\n[a", 2, 3, "expected ']'"),
        ("[[a]\n", 1, 5, "']]'"),
        ("a\n", 1, 2, "expected '='"),
        ("= 1", 1, 1, "expected a key"),
        ("a = ", 1, 5, "expected a value"),
        ("a = truex", 1, 9, "end of the line"),
        ("a = \"\"\"x\"\"\"\"\"\"", 1, 9, "too many quotes"),
        ("# bell \u{7}\n", 1, 8, "control character"),
        ("a = 1\rb = 2", 1, 6, "carriage return"),
        ("\"é\" = \"x", 1, 7, "not closed"),
        ("a = \"tab\u{1}\"", 1, 9, "control character"),
        ("a = '''never", 1, 5, "not closed"),
    ] as [(String, Int, Int, String)])
    func refusedWithThePosition(_ doc: String, _ line: Int, _ column: Int, _ words: String) throws {
        let e = try #require(refused(doc), "accepted: \(doc)")
        #expect(e.line == line && e.column == column && e.message.contains(words), "\(doc.debugDescription): \(e)")
    }

    @Test func invalidUTF8IsRefusedWhereItStarts() throws {
        let e = try #require(
            {
                do { _ = try TOMLParser.parse(Array("a = \"x".utf8) + [0xC3, 0x28, 0x22]); return nil } catch let e as TOMLError { return e } catch { return nil }
            }() as TOMLError?)
        #expect(e.line == 1 && e.column == 7 && e.message.contains("UTF-8"))
    }

    @Test func limitsAreEnforced() throws {
        var small = TOMLLimits()
        small.maxDocumentBytes = 64
        #expect(refused(String(repeating: "# filler\n", count: 10), limits: small)?.message.contains("larger than 64") == true)
        #expect(refused("a = " + String(repeating: "[", count: 40) + String(repeating: "]", count: 40))?.message.contains("nested deeper") == true)
        #expect(refused("a = " + String(repeating: "{b = ", count: 40) + "1" + String(repeating: "}", count: 40))?.message.contains("deeper") == true)
        #expect(refused(String(repeating: "a.", count: 40) + "b = 1")?.message.contains("more than 32 parts") == true)
        let twenty = { (k: String) in Array(repeating: k, count: 20).joined(separator: ".") }
        #expect(refused("[" + twenty("t") + "]\n" + twenty("u") + " = 1")?.message.contains("tables nested deeper") == true)
        var tight = TOMLLimits()
        tight.maxArrayElements = 3
        tight.maxStringBytes = 8
        tight.maxKeysPerTable = 2
        tight.maxKeyBytes = 4
        #expect(refused("a = [1, 2, 3, 4]", limits: tight)?.message.contains("more than 3 elements") == true)
        #expect(try TOMLParser.parse("a = [1, 2, 3]", limits: tight)["a"]?.array?.count == 3)
        #expect(refused("[[a]]\n[[a]]\n[[a]]\n[[a]]", limits: tight)?.message.contains("more than 3 tables") == true)
        #expect(refused("a = \"123456789\"", limits: tight)?.message.contains("longer than 8") == true)
        #expect(refused("a = \"\"\"\n\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"\"\"", limits: tight)?.message.contains("longer than 8") == true)
        #expect(refused("a = 1\nb = 2\nc = 3", limits: tight)?.message.contains("more than 2 keys") == true)
        #expect(refused("abcde = 1", limits: tight)?.message.contains("longer than 4") == true)
        #expect(refused("\"abcde\" = 1", limits: tight)?.message.contains("longer than 4") == true)
        // 32 levels are allowed.
        #expect(try TOMLParser.parse("a = " + String(repeating: "[", count: 31) + String(repeating: "]", count: 31))["a"] != nil)
    }
}
