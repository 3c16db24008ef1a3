import Glibc

/// Starts POSIX threads for blocking socket work, off Swift's cooperative pool.
enum DetachedThread {
    /// Runs `body` on a new thread. `detached` threads clean up by themselves; otherwise the
    /// returned handle must be passed to `join`.
    static func start(detached: Bool, _ body: @escaping @Sendable () -> Void) throws -> pthread_t {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        // Small stacks: a connection thread needs little (its buffers are on the heap).
        pthread_attr_setstacksize(&attributes, 256 * 1024)
        if detached { pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED)) }
        let rc = pthread_create(&thread, &attributes, { arg in
            Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw FaultProxyError.system("pthread_create", errno: rc)
        }
        return thread
    }

    static func join(_ thread: pthread_t) {
        pthread_join(thread, nil)
    }

    private final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
