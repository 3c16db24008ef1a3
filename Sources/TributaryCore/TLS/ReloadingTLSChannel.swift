import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL

/// A child channel that starts with TLS, taking the context of `tls` at accept time — so a
/// reloaded certificate serves new connections while open ones finish with the old. (Hummingbird's
/// own `TLSChannel` holds one context for the life of the server.)
struct ReloadingTLSChannel<BaseChannel: ServerChildChannel>: ServerChildChannel {
    typealias Value = BaseChannel.Value

    let base: BaseChannel
    let tls: ServerTLS

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = tls.current
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                NIOSSLServerHandler(context: context, customVerificationCallback: nil, configuration: .init()))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
