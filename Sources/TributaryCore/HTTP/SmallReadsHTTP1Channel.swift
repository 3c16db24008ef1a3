import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 child channel (`HTTP1Channel`, 2.28.1: the same pipeline, decoder
/// limits, idle timeout and request loop), reading its socket into small buffers and buffering
/// few request parts before backpressure stops reading it.
///
/// NIO's defaults grow a connection's reads to 64 KiB (`AdaptiveRecvByteBufferAllocator`), keep up
/// to `maxMessagesPerRead` (4) such buffers per connection for reuse, and `HTTP1Channel` buffers up
/// to 10 request parts (`NIOAsyncChannel`'s default high watermark) before it stops reading the
/// socket: up to ~900 KiB a connection, ~540 KiB measured with 100 sites uploading at once
/// (docs/PERFORMANCE.md, "Core peak RSS with 100 sites uploading at once"). With
/// `ConnectionReadBuffers.default` a connection reads at most 32 KiB at a time, keeps at most two
/// buffers and buffers at most 4 parts, so one whose request waits — for the body budget, the
/// disk, a commit — holds ~200 KiB at most, and an idle one a buffer or two of the size its last
/// reads needed. (16 KiB reads held less but cost twice the CPU a byte in a debug build: each
/// part is one trip through the channel's async sequence.)
struct SmallReadsHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let configuration: HTTP1Channel.Configuration
    let reads: ConnectionReadBuffers

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            if let options = channel.syncOptions {
                try options.setOption(
                    ChannelOptions.recvAllocator,
                    value: AdaptiveRecvByteBufferAllocator(minimum: reads.minimum, initial: reads.initial, maximum: reads.maximum))
                try options.setOption(ChannelOptions.maxMessagesPerRead, value: reads.maxMessagesPerRead)
            }
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = configuration.httpDecoder.maxHeaderFieldSize
            limits.maxHeaderListSize = configuration.httpDecoder.maxHeaderListSize
            limits.maxHeaderFieldCount = configuration.httpDecoder.maxHeaderFieldCount
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // the request loop (`handleHTTP`) reads one request at a time
                withErrorHandling: false,  // Hummingbird answers errors
                withOutboundHeaderValidation: false,  // swift-http-types validates
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits)
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try channel.pipeline.syncOperations.addHandlers(configuration.additionalChannelHandlers())
            try channel.pipeline.syncOperations.addHandler(
                HTTPConnectionStateHandler(idleTimeout: configuration.idleTimeout.map { .init($0) }, logger: logger))
            return try NIOAsyncChannel(
                wrappingChannelSynchronously: channel,
                configuration: .init(
                    backPressureStrategy: .init(lowWatermark: reads.lowWatermark, highWatermark: reads.highWatermark),
                    isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

/// How every connection reads: buffer sizes and how many request parts wait for the handler.
struct ConnectionReadBuffers: Sendable {
    /// Smallest, first and largest read buffer (NIO doubles a buffer a read fills and halves it
    /// after reads that use less than half; rounded to powers of two).
    var minimum = 1024
    var initial = 4096
    var maximum = 32 << 10
    /// Reads per readable event, also the buffers a connection keeps for reuse.
    var maxMessagesPerRead: UInt = 2
    /// Request parts buffered for the handler: reading stops at `highWatermark` and starts again
    /// below `lowWatermark`.
    var lowWatermark = 2
    var highWatermark = 4

    static let `default` = ConnectionReadBuffers()
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with `configuration` reading into small buffers (`SmallReadsHTTP1Channel`), behind
    /// TLS from `tls` when given.
    static func smallReads(_ configuration: HTTP1Channel.Configuration, tls: ServerTLS?, reads: ConnectionReadBuffers = .default) -> HTTPServerBuilder {
        .init { responder in
            let http1 = SmallReadsHTTP1Channel(responder: responder, configuration: configuration, reads: reads)
            guard let tls else { return http1 }
            return ReloadingTLSChannel(base: http1, tls: tls)
        }
    }
}
