import Synchronization

/// What the accept thread, the connection threads, the stats ticker and the controller share:
/// the counters, the link state and the wake pipe of every open connection, behind one lock.
final class ProxyState: Sendable {
    /// How `admit` answered a freshly accepted socket.
    enum Admission {
        case accepted(number: UInt64, abort: WakePipe)
        case refused(reason: String)
    }

    private struct Book {
        var stats = FaultProxyStats()
        /// Bumped on every change of `stats`, so the ticker writes only when something changed.
        var version: UInt64 = 0
        var open: [UInt64: WakePipe] = [:]
        var stopping = false
        /// Connection threads not yet finished (they outlive `active` by a few instructions).
        var threads = 0
    }

    private struct Writer {
        var writtenVersion: UInt64 = .max
        var lastError: String?
    }

    let log: FaultProxyLog
    private let statsPath: String?
    private let book = Mutex(Book())
    private let writer = Mutex(Writer())

    init(log: FaultProxyLog, statsPath: String?) {
        self.log = log
        self.statsPath = statsPath
    }

    var stats: FaultProxyStats { book.withLock { $0.stats } }

    /// Changes the counters (bytes, faults).
    func update(_ change: (inout FaultProxyStats) -> Void) {
        book.withLock { b in
            change(&b.stats)
            b.version &+= 1
        }
    }

    /// Numbers and registers a new connection, or says why it is refused (counting it).
    func admit(maxConnections: Int) -> Admission {
        // The pipe is made outside the lock; a refused connection just closes it again.
        let pipe: WakePipe
        do { pipe = try WakePipe() } catch {
            book.withLock { b in
                b.stats.refused += 1
                b.version &+= 1
            }
            return .refused(reason: "no_descriptors")
        }
        let answer: Admission = book.withLock { b in
            let reason: String? =
                b.stopping ? "stopping" : !b.stats.linkUp ? "link_down" : b.stats.active >= UInt64(maxConnections) ? "max_connections" : nil
            b.version &+= 1
            if let reason {
                b.stats.refused += 1
                return .refused(reason: reason)
            }
            b.stats.connections += 1
            b.stats.active += 1
            b.threads += 1
            b.open[b.stats.connections] = pipe
            return .accepted(number: b.stats.connections, abort: pipe)
        }
        if case .refused = answer { pipe.close() }
        return answer
    }

    /// Undoes `admit` when the connection's thread could not be started.
    func abandon(_ number: UInt64) {
        let pipe: WakePipe? = book.withLock { b in
            b.stats.active -= 1
            b.threads -= 1
            b.version &+= 1
            return b.open.removeValue(forKey: number)
        }
        pipe?.close()
    }

    /// Called when connection `number` has closed both sockets: it is no longer active and
    /// the stats file is rewritten.
    func closed(_ number: UInt64) {
        let pipe: WakePipe? = book.withLock { b in
            b.stats.active -= 1
            b.version &+= 1
            return b.open.removeValue(forKey: number)
        }
        pipe?.close()
        writeStats()
    }

    /// The last thing a connection thread does.
    func threadExited() {
        book.withLock { $0.threads -= 1 }
    }

    var runningThreads: Int { book.withLock { $0.threads } }

    /// Sets the link state; taking it down aborts every open connection. Returns how many
    /// connections were told to close, or nil when the state did not change.
    func setLink(up: Bool) -> Int? {
        book.withLock { b in
            guard b.stats.linkUp != up else { return nil }
            b.stats.linkUp = up
            b.version &+= 1
            if !up { for pipe in b.open.values { pipe.raise() } }
            return up ? 0 : b.open.count
        }
    }

    /// Refuses new connections from now on and aborts the open ones.
    func beginStopping() {
        book.withLock { b in
            b.stopping = true
            for pipe in b.open.values { pipe.raise() }
        }
    }

    /// Writes the stats file if there is one and something changed since the last write
    /// (or always, with `force`). Failures are logged once per distinct message.
    func writeStats(force: Bool = false) {
        guard let statsPath else { return }
        writer.withLock { w in
            let (stats, version) = book.withLock { ($0.stats, $0.version) }
            guard force || version != w.writtenVersion else { return }
            do {
                try AtomicFile.write(stats.json, to: statsPath)
                w.writtenVersion = version
                w.lastError = nil
            } catch {
                let message = "\(error)"
                if w.lastError != message { log.info("event=stats_write_failed error=\"\(message)\"") }
                w.lastError = message
            }
        }
    }
}
