import Foundation

/// Runs external programs (the system `zstd`, `tar`, …) for tests that check interoperability.
public enum ProcessRunner {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs a pipeline `commands[0] | commands[1] | …`, the first reading `stdinPath` (or
    /// /dev/null), and returns the last one's output and status. Each command is
    /// `[executable, args…]`, looked up in PATH by `/usr/bin/env`. Output goes through files, so
    /// large outputs cannot deadlock the pipe.
    public static func pipeline(_ commands: [[String]], stdinPath: String? = nil) throws -> Result {
        precondition(!commands.isEmpty)
        let dir = try TemporaryDirectory(prefix: "tributary-process")
        let outPath = dir.path("stdout")
        let errPath = dir.path("stderr")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: stdinPath ?? "/dev/null"))

        var processes: [Process] = []
        var previous: Pipe?
        for (i, command) in commands.enumerated() {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = command
            if let previous { p.standardInput = previous } else { p.standardInput = input }
            if i == commands.count - 1 {
                p.standardOutput = out
            } else {
                let pipe = Pipe()
                p.standardOutput = pipe
                previous = pipe
            }
            p.standardError = err
            processes.append(p)
        }
        for p in processes { try p.run() }
        for p in processes { p.waitUntilExit() }
        try out.close()
        try err.close()
        try input.close()
        let failed = processes.first { $0.terminationStatus != 0 }
        return Result(
            status: (failed ?? processes.last!).terminationStatus,
            stdout: try String(contentsOfFile: outPath, encoding: .utf8),
            stderr: try String(contentsOfFile: errPath, encoding: .utf8))
    }

    /// Runs one program.
    public static func run(_ command: [String], stdinPath: String? = nil) throws -> Result {
        try pipeline([command], stdinPath: stdinPath)
    }

    /// Writes `bytes` to `path`.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
