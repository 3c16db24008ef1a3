import Synchronization
import TributaryProtocol

/// Bounds the time a call to a remote backend (PostgreSQL, S3) may take.
///
/// The operation runs in its own task; when `seconds` pass first, the caller gets
/// `TributaryError(.io, "<what> did not answer within N s")` at once and the operation is
/// cancelled. The caller does not wait for the operation to notice the cancellation: a query stuck
/// on a silent server must not hold the request (or a commit) forever. Everything the core does
/// through a deadline is idempotent, so an operation that still completes after its caller gave up
/// does no harm (a commit is retried and finds its receipt).
enum Deadline {
    static func run<T: Sendable>(
        seconds: Double, _ what: String, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let gate = Gate<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
                gate.install(cont)
                let timer = Task {
                    try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                    if gate.finish(.failure(TributaryError(.io, "\(what) did not answer within \(Self.format(seconds)) s"))) {
                        gate.cancelWork()
                    }
                }
                let work = Task {
                    do { gate.finish(.success(try await operation())) } catch { gate.finish(.failure(error)) }
                    timer.cancel()
                }
                gate.onCancel { work.cancel() }
            }
        } onCancel: {
            gate.finish(.failure(CancellationError()))
            gate.cancelWork()
        }
    }

    static func format(_ s: Double) -> String { s == s.rounded() ? String(Int(s)) : String(s) }

    /// Resumes the continuation exactly once.
    private final class Gate<T: Sendable>: Sendable {
        private struct State {
            var cont: CheckedContinuation<T, any Error>?
            var early: Result<T, any Error>?
            var done = false
            var cancel: (@Sendable () -> Void)?
        }
        private let state = Mutex(State())

        func install(_ cont: CheckedContinuation<T, any Error>) {
            let early: Result<T, any Error>? = state.withLock { s in
                if let e = s.early { s.early = nil; return e }
                s.cont = cont
                return nil
            }
            if let early { cont.resume(with: early) }
        }

        func onCancel(_ body: @escaping @Sendable () -> Void) { state.withLock { $0.cancel = body } }
        func cancelWork() { state.withLock { $0.cancel }?() }

        /// Returns whether this call decided the outcome.
        @discardableResult
        func finish(_ result: Result<T, any Error>) -> Bool {
            let (first, cont): (Bool, CheckedContinuation<T, any Error>?) = state.withLock { s in
                guard !s.done else { return (false, nil) }
                s.done = true
                if let c = s.cont {
                    s.cont = nil
                    return (true, c)
                }
                s.early = result
                return (true, nil)
            }
            cont?.resume(with: result)
            return first
        }
    }
}
