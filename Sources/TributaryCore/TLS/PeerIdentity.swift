import CCrypto
import NIOSSL
import TributaryProtocol

/// How a verified client certificate names itself to the catalog (`SiteCredential`): its
/// SHA-256 fingerprint (lower-case hex of the DER bytes, as `openssl x509 -fingerprint -sha256`
/// prints without the colons) and its subject's common name as `CN=<name>`.
public struct PeerIdentity: Sendable, Equatable {
    public var fingerprint: String
    public var subject: String?

    public init(fingerprint: String, subject: String?) {
        self.fingerprint = fingerprint
        self.subject = subject
    }

    init(_ certificate: NIOSSLCertificate) throws {
        let der = try certificate.toDERBytes()
        fingerprint = StreamingDigest.sha256Hex(der)
        subject = Self.commonName(der: der).map { "CN=" + $0 }
    }

    /// The last (most significant) commonName of the subject, parsed with OpenSSL; nil if none.
    static func commonName(der: [UInt8]) -> String? {
        der.withUnsafeBufferPointer { buf -> String? in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            guard let x509 = d2i_X509(nil, &p, Int(buf.count)) else { return nil }
            defer { X509_free(x509) }
            guard let name = X509_get_subject_name(x509) else { return nil }
            let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
            var last = index
            while last >= 0 {
                let next = X509_NAME_get_index_by_NID(name, NID_commonName, last)
                if next < 0 { break }
                last = next
            }
            guard last >= 0, let entry = X509_NAME_get_entry(name, last), let data = X509_NAME_ENTRY_get_data(entry) else { return nil }
            var utf8: UnsafeMutablePointer<UInt8>?
            let n = ASN1_STRING_to_UTF8(&utf8, data)
            guard n >= 0, let utf8 else { return nil }
            defer { CRYPTO_free(utf8, #file, #line) }
            return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(n)), as: UTF8.self)
        }
    }

    /// A fingerprint as an operator may type it (`AB:CD:…`, any case) in canonical form, or nil
    /// if it is not 32 bytes of hex.
    public static func normalizeFingerprint(_ text: String) -> String? {
        let hex = text.lowercased().filter { $0 != ":" }
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return hex
    }

    /// A subject as registered: `CN=<name>` (only the common name is matched).
    public static func normalizeSubject(_ text: String) -> String? {
        guard text.hasPrefix("CN="), text.utf8.count > 3, text.utf8.count <= 256, !text.dropFirst(3).contains(",") else { return nil }
        return text
    }
}
