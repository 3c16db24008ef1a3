/// An arrival as one line of an arrival manifest, written byte by byte: the same JSON as
/// `JSON.encode` (keys sorted, `/` not escaped, absent optionals left out), without Foundation's
/// encoder, which cost more than the rest of a small object's commit together.
/// `ArrivalJSONLineTests` holds the two to the same bytes.
extension ArrivalRecord {
    func appendJSONLine(to out: inout [UInt8]) {
        func field(_ k: StaticString) {
            out.append(UInt8(ascii: "\""))
            k.withUTF8Buffer { out += $0 }
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
        }
        func text(_ k: StaticString, _ v: String) {
            field(k)
            JSONLine.appendString(v, to: &out)
            out.append(UInt8(ascii: ","))
        }
        func number(_ k: StaticString, _ v: UInt64) {
            field(k)
            out += String(v).utf8
            out.append(UInt8(ascii: ","))
        }
        out.append(UInt8(ascii: "{"))
        text("captured_at", capturedAt)
        text("key", self.key)
        text("name", self.name)
        if let origin { text("origin", origin) }
        if let path {
            field("path")
            out.append(UInt8(ascii: "["))
            for (i, p) in path.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONLine.appendString(p, to: &out)
            }
            out.append(UInt8(ascii: "]"))
            out.append(UInt8(ascii: ","))
        }
        text("received_at", receivedAt)
        if let relay { text("relay", relay) }
        field("seq")
        out += String(seq).utf8
        out.append(UInt8(ascii: ","))
        text("sha256", sha256)
        text("site", site)
        number("size", size)
        text("status", status.rawValue)
        text("stream", stream)
        field("upload_id")
        JSONLine.appendString(uploadID, to: &out)
        out.append(UInt8(ascii: "}"))
        out.append(0x0a)
    }
}

enum JSONLine {
    private static let hex = Array("0123456789abcdef".utf8)

    /// A JSON string literal of `s`, escaped as Foundation's `JSONEncoder` escapes it with
    /// `.withoutEscapingSlashes`: `"` and `\`, the short forms `\b \f \n \r \t`, `\u00XX` for the
    /// other control characters; everything else as its UTF-8 bytes.
    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0c: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0a: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0d: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 0xf)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
