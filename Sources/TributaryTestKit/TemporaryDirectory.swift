#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A fresh directory under `/tmp`, removed with everything in it when the last reference goes.
///
///     let dir = try TemporaryDirectory()
///     let db = dir.path("catalog.sqlite")
public final class TemporaryDirectory: Sendable {
    /// Absolute path of the directory.
    public let root: String

    public init(prefix: String = "tributary-test") throws {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else {
            throw TributaryTestError("mkdtemp /tmp/\(prefix)-XXXXXX failed: \(String(cString: strerror(errno)))")
        }
        root = String(cString: made)
    }

    /// The path of `relative` inside the directory (not created).
    public func path(_ relative: String) -> String { root + "/" + relative }

    deinit { try? FileManager.default.removeItem(atPath: root) }
}

/// Runs `body` with a fresh temporary directory and removes the directory afterwards,
/// whether `body` returns or throws.
public func withTemporaryDirectory<T>(
    prefix: String = "tributary-test",
    isolation: isolated (any Actor)? = #isolation,
    _ body: (TemporaryDirectory) async throws -> T
) async throws -> T {
    let dir = try TemporaryDirectory(prefix: prefix)
    defer { withExtendedLifetime(dir) {} }
    return try await body(dir)
}

/// An error raised by the test kit itself (setup failed), not by the code under test.
public struct TributaryTestError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
