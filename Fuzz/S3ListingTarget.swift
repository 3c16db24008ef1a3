/// S3 listing target: the input is a ListObjectsV2 answer from a bucket the edge takes objects
/// from (`S3ListingParser`). What parses must hold to the documented limits: at most 1000
/// objects, keys of 1–1024 bytes, non-empty ETags of at most 256 bytes without quotes around.
func fuzzS3Listing(_ input: UnsafeRawBufferPointer) {
    guard let page = try? S3ListingParser.parse(Array(input)) else { return }
    precondition(page.objects.count <= 1000, "more than 1000 objects in a page")
    for o in page.objects {
        precondition(!o.key.isEmpty && o.key.utf8.count <= 1024, "key of \(o.key.utf8.count) bytes")
        precondition(!o.etag.isEmpty && o.etag.utf8.count <= 256, "ETag of \(o.etag.utf8.count) bytes")
        precondition(!(o.etag.hasPrefix("\"") && o.etag.hasSuffix("\"") && o.etag.count >= 2), "ETag kept its quotes")
    }
    if let t = page.nextContinuationToken { precondition(!t.isEmpty && t.utf8.count <= 1024, "bad continuation token") }
}
