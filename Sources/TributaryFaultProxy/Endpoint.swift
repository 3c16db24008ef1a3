/// An IPv4 address and TCP port, written `HOST:PORT` (`127.0.0.1:9000`; `localhost` means
/// 127.0.0.1). Port 0 asks the kernel for a free port when listening.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// Dotted-quad IPv4 address.
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }

    /// Parses `HOST:PORT`. `flag` names the flag in the error.
    public static func parse(_ text: String, flag: String) throws -> Endpoint {
        let trimmed = text.trimmingSpaces
        guard let colon = trimmed.lastIndex(of: ":") else {
            throw FaultProxyError.invalid(flag, text, "expected HOST:PORT, e.g. 127.0.0.1:8080")
        }
        var host = String(trimmed[..<colon])
        let portText = String(trimmed[trimmed.index(after: colon)...])
        if host == "localhost" { host = "127.0.0.1" }
        guard isIPv4(host) else {
            throw FaultProxyError.invalid(flag, text, "host \"\(host)\" is not an IPv4 address (e.g. 127.0.0.1)")
        }
        guard !portText.isEmpty, portText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let port = UInt16(portText) else {
            throw FaultProxyError.invalid(flag, text, "port \"\(portText)\" is not a number from 0 to 65535")
        }
        return Endpoint(host: host, port: port)
    }

    static func isIPv4(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) && Int(p)! <= 255
        }
    }
}
