import HummingbirdTLS
import Logging
import NIOSSL
import Synchronization
import TributaryProtocol

/// The core listener's TLS: the certificate chain and key (and, for mutual TLS, the CA that
/// client certificates must chain to), loaded from PEM files into one `NIOSSLContext`.
///
/// Reloading (`reload()`, on SIGHUP) builds a new context from the files and swaps it in; the
/// swap is seen by connections accepted afterwards, while connections already open keep the
/// context they were accepted with, so uploads in progress are not interrupted. A reload that
/// fails (a half-written file, a key that does not match) keeps the previous context.
///
/// Protocol settings: TLS 1.2 and 1.3 only, swift-nio-ssl's default cipher suites (ECDHE with
/// AES-GCM or ChaCha20-Poly1305; no RSA key exchange, no CBC), ALPN `http/1.1`.
public final class ServerTLS: Sendable {
    public struct Files: Sendable, Equatable {
        public var certificateChain: String
        public var privateKey: String
        /// PEM bundle of the CAs client certificates must chain to. When set, every client must
        /// present a certificate that verifies (mutual TLS).
        public var clientCA: String?

        public init(certificateChain: String, privateKey: String, clientCA: String? = nil) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
            self.clientCA = clientCA
        }
    }

    public let files: Files
    private let context: Mutex<NIOSSLContext>

    public init(files: Files) throws {
        self.files = files
        self.context = Mutex(try Self.makeContext(files))
    }

    /// The context new connections are accepted with.
    public var current: NIOSSLContext { context.withLock { $0 } }

    /// Re-reads the files; on failure the previous context stays in use and the error is thrown.
    public func reload() throws {
        let fresh = try Self.makeContext(files)
        context.withLock { $0 = fresh }
    }

    static func makeContext(_ files: Files) throws -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain)
            guard !chain.isEmpty else { throw ConfigurationError("tls_cert \(files.certificateChain) holds no certificate") }
            let key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
            var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            config.minimumTLSVersion = .tlsv12
            config.applicationProtocols = ["http/1.1"]
            if let ca = files.clientCA {
                let roots = try NIOSSLCertificate.fromPEMFile(ca)
                guard !roots.isEmpty else { throw ConfigurationError("tls_client_ca \(ca) holds no certificate") }
                config.trustRoots = .certificates(roots)
                // A server that verifies asks for a certificate and fails the handshake without one.
                config.certificateVerification = .noHostnameVerification
                config.sendCANameList = true
            }
            return try NIOSSLContext(configuration: config)
        } catch let e as ConfigurationError {
            throw e
        } catch {
            throw ConfigurationError("TLS files (tls_cert \(files.certificateChain), tls_key \(files.privateKey)) cannot be used: \(error)")
        }
    }
}
