import Testing
import TributaryProtocol
import TributaryTestKit

@Suite("Digests and hex")
struct DigestTests {
    @Test("sha256 and sha1 known vectors")
    func vectors() {
        #expect(StreamingDigest.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(StreamingDigest.sha256Hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            StreamingDigest.sha256Hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let sha1 = StreamingDigest(.sha1)
        sha1.update(Array("abc".utf8))
        #expect(sha1.finalizeHex() == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(StreamingDigest(.sha1).finalizeHex() == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }

    @Test("raw digest lengths", arguments: StreamingDigest.Algorithm.allCases)
    func lengths(algorithm: StreamingDigest.Algorithm) {
        let d = StreamingDigest(algorithm)
        d.update(Array("abc".utf8))
        #expect(d.finalize().count == (algorithm == .sha256 ? 32 : 20))
    }

    @Test("streaming in pieces equals one shot")
    func streaming() {
        let data = TestBytes.random(1_000_003, seed: 21)
        let d = StreamingDigest()
        for chunk in TestBytes.chunks(data, maxChunk: 65_536) { d.update(chunk) }
        d.update(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(d.finalizeHex() == StreamingDigest.sha256Hex(data))
    }

    @Test("Hex.encode")
    func hexEncode() {
        #expect(Hex.encode([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(Hex.encode([UInt8]()) == "")
    }

    @Test("Hex.isSHA256")
    func isSHA256() {
        #expect(Hex.isSHA256(String(repeating: "0", count: 64)))
        #expect(Hex.isSHA256("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        #expect(!Hex.isSHA256("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"))
        #expect(!Hex.isSHA256(String(repeating: "0", count: 63)))
        #expect(!Hex.isSHA256(String(repeating: "0", count: 65)))
        #expect(!Hex.isSHA256(String(repeating: "g", count: 64)))
        #expect(!Hex.isSHA256(""))
        #expect(!Hex.isSHA256(String(repeating: "0", count: 63) + " "))
    }

    @Test("secureRandomBytes gives the requested count and differs between calls")
    func randomBytes() {
        let a = secureRandomBytes(32)
        let b = secureRandomBytes(32)
        #expect(a.count == 32 && b.count == 32)
        #expect(a != b)
        #expect(secureRandomBytes(0).isEmpty)
    }
}
