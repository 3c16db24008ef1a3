import Foundation
import Testing
import TributaryProtocol
import TributaryTestKit

/// The test kit's own promises, since every other test leans on them.
@Suite("TestKit")
struct TestKitTests {
    @Test("TemporaryDirectory is unique, under /tmp, and removed with its contents on deinit")
    func temporaryDirectory() throws {
        var dir: TemporaryDirectory? = try TemporaryDirectory()
        let other = try TemporaryDirectory()
        let root = try #require(dir?.root)
        #expect(root.hasPrefix("/tmp/"))
        #expect(root != other.root)
        try FileManager.default.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
        try ProcessRunner.write([1, 2, 3], to: root + "/a/b/file")
        dir = nil
        #expect(!FileManager.default.fileExists(atPath: root))
        #expect(FileManager.default.fileExists(atPath: other.root))
    }

    struct Boom: Error {}

    @Test("withTemporaryDirectory removes the directory after the body returns or throws")
    func withTemporary() async throws {
        let kept = try await withTemporaryDirectory { dir in
            try ProcessRunner.write([1], to: dir.path("x"))
            #expect(FileManager.default.fileExists(atPath: dir.path("x")))
            return dir.root
        }
        #expect(!FileManager.default.fileExists(atPath: kept))

        var thrownRoot = ""
        await #expect(throws: Boom.self) {
            try await withTemporaryDirectory { dir in
                thrownRoot = dir.root
                throw Boom()
            }
        }
        #expect(!thrownRoot.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: thrownRoot))
    }

    @Test("ArraySink collects what is written, in order")
    func arraySink() throws {
        var sink = ArraySink()
        try [UInt8]([1, 2]).withUnsafeBytes { try sink.write($0) }
        try [UInt8]([]).withUnsafeBytes { try sink.write($0) }
        try [UInt8]([3]).withUnsafeBytes { try sink.write($0) }
        #expect(sink.bytes == [1, 2, 3])
    }

    @Test("TestBytes are deterministic per seed and chunks cover the input exactly")
    func testBytes() {
        #expect(TestBytes.random(1000, seed: 5) == TestBytes.random(1000, seed: 5))
        #expect(TestBytes.random(1000, seed: 5) != TestBytes.random(1000, seed: 6))
        #expect(TestBytes.random(13).count == 13)
        #expect(TestBytes.compressible(777).count == 777)
        let data = TestBytes.random(10_000)
        let chunks = TestBytes.chunks(data, maxChunk: 300)
        #expect(chunks.allSatisfy { !$0.isEmpty && $0.count <= 300 })
        #expect(Array(chunks.joined()) == data)
    }

    @Test("ProcessRunner reports exit status and output of a pipeline")
    func processRunner() throws {
        let ok = try ProcessRunner.pipeline([["printf", "b\\na\\n"], ["sort"]])
        #expect(ok.status == 0)
        #expect(ok.stdout == "a\nb\n")
        let failed = try ProcessRunner.run(["false"])
        #expect(failed.status != 0)
    }
}
