import TributarySettings

/// Time-of-day bandwidth windows, e.g. `08:00-18:00=50000` (50 kB/s during working hours).
///
/// A window `from-to` covers minutes `from ≤ t < to` of the local day; `to < from` wraps past
/// midnight (`22:00-06:00`). The first window that covers the time decides; outside all of them the
/// agent's `bandwidth_bytes_per_second` applies. A rate of 0 means unlimited.
public struct BandwidthSchedule: Sendable, Equatable {
    public struct Window: Sendable, Equatable {
        public var fromMinute: Int
        public var toMinute: Int
        public var bytesPerSecond: Int64

        func covers(_ minute: Int) -> Bool {
            fromMinute <= toMinute ? (minute >= fromMinute && minute < toMinute) : (minute >= fromMinute || minute < toMinute)
        }
    }

    public var windows: [Window] = []

    public init(windows: [Window] = []) { self.windows = windows }

    /// Parses `HH:MM-HH:MM=RATE[,HH:MM-HH:MM=RATE…]`.
    public init(parsing text: String) throws {
        for part in text.split(separator: ",").map({ $0.trimmingSpaces() }) where !part.isEmpty {
            windows.append(try Self.window(part))
        }
    }

    static func window(_ spec: String) throws -> Window {
        let bad = ConfigurationError("bandwidth window '\(spec)' must look like 08:00-18:00=50000 (bytes/s)")
        let halves = spec.split(separator: "=", maxSplits: 1)
        guard halves.count == 2, let rate = Int64(halves[1].trimmingSpaces()), rate >= 0 else { throw bad }
        let times = halves[0].split(separator: "-")
        guard times.count == 2, let from = minute(times[0].trimmingSpaces()), let to = minute(times[1].trimmingSpaces()), from != to else { throw bad }
        return Window(fromMinute: from, toMinute: to, bytesPerSecond: rate)
    }

    static func minute(_ s: String) -> Int? {
        let p = s.split(separator: ":")
        guard p.count == 2, let h = Int(p[0]), let m = Int(p[1]), (0...24).contains(h), (0...59).contains(m), h * 60 + m <= 1440 else { return nil }
        return h * 60 + m
    }

    /// The cap at `minuteOfDay` (0–1439), given the rate outside the windows.
    public func rate(atMinute minuteOfDay: Int, otherwise: Int64) -> Int64 {
        windows.first { $0.covers(minuteOfDay) }?.bytesPerSecond ?? otherwise
    }
}

extension Substring {
    package func trimmingSpaces() -> String {
        var s = self
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    package func trimmingSpaces() -> String { Substring(self).trimmingSpaces() }
}
