import Testing
import TributaryProtocol

@Suite("Binary have-check")
struct BinaryHaveTests {
    static let hashes = (0..<20).map { StreamingDigest.sha256Hex([UInt8($0)]) }

    @Test("a request round-trips and costs 32 bytes a hash")
    func request() throws {
        let body = BinaryHave.encode(Self.hashes)
        #expect(body.count == 20 * 32)
        #expect(try BinaryHave.parseRequest(body) == Self.hashes)
        #expect(try BinaryHave.parseRequest([]) == [])
    }

    @Test("a request body that is not whole digests, or too many, is invalid_body", arguments: [1, 31, 33, 32 * (WireProtocol.maxHaveCheckHashes + 1)])
    func badRequest(length: Int) throws {
        let error = #expect(throws: TributaryError.self) { try BinaryHave.parseRequest([UInt8](repeating: 7, count: length)) }
        #expect(error?.code == .invalidBody)
    }

    @Test("the answer bitmap names exactly the held hashes")
    func answer() throws {
        let held: Set<Int> = [0, 7, 8, 19]
        let bits = BinaryHave.encodeAnswer(count: 20) { held.contains($0) }
        #expect(bits == [0b1000_0001, 0b0000_0001, 0b0000_1000])
        #expect(try BinaryHave.parseAnswer(bits, hashes: Self.hashes) == Set(held.map { Self.hashes[$0] }))
        #expect(try BinaryHave.parseAnswer([], hashes: []) == [])
    }

    @Test("an answer of the wrong length or with a padding bit set is invalid_body", arguments: [[UInt8](), [0, 0], [0, 0, 0, 0], [0, 0, 0b0001_0000]])
    func badAnswer(bits: [UInt8]) throws {
        let error = #expect(throws: TributaryError.self) { try BinaryHave.parseAnswer(bits, hashes: Self.hashes) }
        #expect(error?.code == .invalidBody)
    }

    @Test("hex decodes back to bytes (either case); anything but hex pairs is nil")
    func hexDecode() {
        #expect(Hex.decode("00ff7a") == [0, 255, 0x7a])
        #expect(Hex.decode(Hex.encode([1, 2, 254])) == [1, 2, 254])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("0G") == nil)
        #expect(Hex.decode("FFa0") == [255, 0xa0])
        #expect(Hex.decode("0x") == nil)
    }
}
