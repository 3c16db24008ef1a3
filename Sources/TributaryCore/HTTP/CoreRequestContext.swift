import Hummingbird
import NIOCore
import NIOSSL

/// The request context of every core route: Hummingbird's basics plus the connection, from which
/// the verified client certificate (mutual TLS) is read.
public struct CoreRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The client certificate the TLS handshake verified against `tls_client_ca`; nil on plain
    /// HTTP, on TLS without a client CA, or if the certificate cannot be read.
    func peerIdentity() async -> PeerIdentity? {
        guard let cert = try? await channel.nioSSL_peerCertificate().get() else { return nil }
        return try? PeerIdentity(cert)
    }
}
