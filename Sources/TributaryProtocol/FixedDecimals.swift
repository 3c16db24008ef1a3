extension Double {
    /// The value rounded to `places` decimals (0…9), as `String(format: "%.Nf", x)` writes it for the
    /// figures the agents print (percentages, ratios, seconds), without Foundation's `String(format:)`
    /// (the edge links FoundationEssentials only). Halves round away from zero.
    public func fixed(_ places: Int) -> String {
        guard isFinite else { return isNaN ? "nan" : (self < 0 ? "-inf" : "inf") }
        let p = Swift.max(0, Swift.min(places, 9))
        var scale: UInt64 = 1
        for _ in 0..<p { scale *= 10 }
        let scaled = (Swift.abs(self) * Double(scale)).rounded()
        // Beyond what UInt64 holds: the shortest round-trip form is as good as any.
        guard scaled < 1.8e19 else { return String(self) }
        let n = UInt64(scaled)
        var fraction = String(n % scale)
        while fraction.count < p { fraction = "0" + fraction }
        let sign = self < 0 && n != 0 ? "-" : ""
        return sign + String(n / scale) + (p > 0 ? "." + fraction : "")
    }
}
