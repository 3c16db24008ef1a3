#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs blocking work (a libcurl transfer, a long fsync) on its own POSIX thread so it never
/// occupies one of Swift's cooperative threads, and resumes the caller when it is done.
public enum BlockingThread {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
            let job = Job {
                do { cont.resume(returning: try body()) } catch { cont.resume(throwing: error) }
            }
            let raw = Unmanaged.passRetained(job).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { arg in
                let job = Unmanaged<Job>.fromOpaque(arg!).takeRetainedValue()
                job.body()
                return nil
            }, raw)
            if rc != 0 {
                Unmanaged<Job>.fromOpaque(raw).release()
                cont.resume(throwing: TransferError(code: -1, message: "pthread_create failed: \(rc)", bytesSent: 0, aborted: false))
            } else {
                pthread_detach(thread)
            }
        }
    }

    private final class Job: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
}
