/// Upload-Metadata target: the input is a header value. Whatever parses must survive the round
/// trip through `headerValue`.
func fuzzUploadMetadata(_ input: UnsafeRawBufferPointer) {
    let header = String(decoding: input, as: UTF8.self)
    guard let m = try? UploadMetadata.parse(header) else { return }
    let again: UploadMetadata
    do {
        again = try UploadMetadata.parse(m.headerValue)
    } catch {
        preconditionFailure("headerValue of a parsed header does not parse: \(error)")
    }
    precondition(again == m, "Upload-Metadata round trip changed the values")
}
