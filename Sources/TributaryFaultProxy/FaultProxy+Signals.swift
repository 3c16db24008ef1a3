import Glibc

extension FaultProxy {
    /// The signals `serve(signals:)` acts on: SIGTERM and SIGINT stop the proxy, SIGUSR1 takes
    /// the link down, SIGUSR2 brings it up.
    public static let controlSignals: [Int32] = [SIGTERM, SIGINT, SIGUSR1, SIGUSR2]

    /// Runs the proxy's signal loop on the calling thread until SIGTERM or SIGINT, then stops
    /// it (final stats written) and returns. `signals` must have been created, blocking
    /// `controlSignals`, before `start()`.
    public func serve(signals: SignalWaiter) {
        while true {
            switch signals.next() {
            case SIGUSR1: setLink(up: false)
            case SIGUSR2: setLink(up: true)
            case SIGTERM, SIGINT:
                stop()
                return
            default: continue
            }
        }
    }
}
