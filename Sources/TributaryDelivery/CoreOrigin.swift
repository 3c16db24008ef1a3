/// The scheme, host and port of the configured core: the only place the site token is sent.
/// A `Location` the core answers with must resolve to this origin; anything else (another host,
/// port or scheme, e.g. an `http://` downgrade) is an error, never followed with the token.
public struct CoreOrigin: Sendable, Equatable {
    public var scheme: String
    public var host: String
    public var port: Int

    /// nil if `url` is not `http(s)://HOST[:PORT][/…]`.
    public init?(_ url: String) {
        let lower = url.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        var authority = Substring(lower.dropFirst(scheme.count + 3))
        if let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { authority = authority[..<end] }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = authority
        var port = scheme == "https" ? 443 : 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
            host = authority[..<colon]
        }
        guard !host.isEmpty else { return nil }
        self.scheme = scheme
        self.host = String(host)
        self.port = port
    }

    /// Whether the host is this machine (127.0.0.0/8, ::1, localhost): plain HTTP to it never
    /// crosses a network.
    public var isLoopback: Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "[::1]" || host == "::1"
    }

    /// `location` (absolute or a path) as a URL on this origin; nil if it names another origin.
    public func resolve(_ location: String, base: String) -> String? {
        if location.hasPrefix("/") && !location.hasPrefix("//") { return base + location }
        guard let other = CoreOrigin(location), other == self else { return nil }
        return location
    }
}
