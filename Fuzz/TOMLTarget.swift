/// TOML target: the input is a configuration file. The reader must refuse it with a TOMLError
/// whose position lies inside the document, or accept it; what it accepts, written back as TOML
/// (inline tables, every key quoted, every string escaped), must read again to the same document.
func fuzzTOML(_ input: UnsafeRawBufferPointer) {
    var limits = TOMLLimits()
    // Small ceilings so the fuzzer reaches each of them within its input sizes.
    limits.maxDocumentBytes = 64 * 1024
    limits.maxDepth = 12
    limits.maxStringBytes = 256
    limits.maxKeyBytes = 64
    limits.maxArrayElements = 64
    limits.maxKeysPerTable = 64
    let bytes = Array(input)
    let table: TOMLTable
    do {
        table = try TOMLParser.parse(bytes, limits: limits)
    } catch let e as TOMLError {
        let lines = bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
        precondition(e.line >= 1 && e.line <= lines && e.column >= 1 && e.column <= bytes.count + 1, "position \(e.line):\(e.column) outside the document")
        precondition(!e.message.isEmpty, "an error without a message")
        return
    } catch {
        preconditionFailure("not a TOMLError: \(error)")
    }
    let written = tomlDocument(table)
    // Inline tables nest one level deeper than [[headers]] do: the re-read gets room for that.
    var roomy = limits
    roomy.maxDocumentBytes = Int.max
    roomy.maxDepth = 2 * limits.maxDepth + 2
    let again: TOMLTable
    do {
        again = try TOMLParser.parse(written, limits: roomy)
    } catch {
        preconditionFailure("what was accepted, written back, is refused: \(error)\n\(written)")
    }
    precondition(tomlDocument(again) == written, "written back and read again, the document changed:\n\(written)")
}

private func tomlDocument(_ t: TOMLTable) -> String {
    t.keys.map { tomlString($0) + " = " + tomlValue(t[$0] ?? .boolean(false)) + "\n" }.joined()
}

private func tomlValue(_ v: TOMLValue) -> String {
    switch v {
    case .string(let s): return tomlString(s)
    case .integer(let i): return String(i)
    case .float(let d): return d.isNaN ? "nan" : String(d)
    case .boolean(let b): return b ? "true" : "false"
    case .array(let a): return "[" + a.map(tomlValue).joined(separator: ", ") + "]"
    case .table(let t): return "{" + t.keys.map { tomlString($0) + " = " + tomlValue(t[$0] ?? .boolean(false)) }.joined(separator: ", ") + "}"
    }
}

private func tomlString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where u.value < 0x20 || u.value == 0x7F:
            let hex = String(u.value, radix: 16, uppercase: true)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}
