import TributaryProtocol

/// Upload ids: 32 lower-case hex digits (128 bits). A node given a `node_id` makes ids that begin
/// with it (120 random bits remain), so a load balancer can route every request naming an upload
/// to the node that stages it without any shared state (deploy/compose/nginx.conf).
enum UploadID {
    static func make(node: String?) -> String {
        let random = Hex.encode(secureRandomBytes(16))
        guard let node else { return random }
        return node + random.dropFirst(node.count)
    }
}
