extension S3Lake {
    /// Start-up housekeeping (`LakeStore.clearLeftovers`): the S3 lake has no scratch directory;
    /// multipart uploads this node began and left for over a day are aborted (their objects were
    /// never committed; a retry starts them afresh).
    public func clearLeftovers() async {
        await abortStaleMultipartUploads(olderThan: 24 * 3600)
    }
}
