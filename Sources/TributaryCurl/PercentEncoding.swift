/// RFC 3986 percent-encoding for S3 URLs (the core's lake, the edge's bucket sources): every byte
/// but the unreserved characters (and `/` in paths) becomes `%XX`, upper-case, so the URL is
/// already the canonical form SigV4 signs.
public enum PercentEncoding {
    public static func encode(_ s: String, keepSlash: Bool) -> String {
        let hex = Array("0123456789ABCDEF")
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.append("%")
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xf)])
            }
        }
        return out
    }

    /// `a=1&b=2` with the names sorted and both sides encoded.
    public static func query(_ items: [(String, String)]) -> String {
        items.sorted { $0.0 < $1.0 }.map { encode($0.0, keepSlash: false) + "=" + encode($0.1, keepSlash: false) }.joined(separator: "&")
    }
}
