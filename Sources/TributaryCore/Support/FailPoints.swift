#if canImport(Glibc)
import Glibc
#endif

/// Named pause points for crash tests, set by `TRIBUTARY_FAILPOINTS="name=sleep:MS,…"`, or
/// `name=crash` to end the process there at once (SIGKILL of itself: the poison-upload tests).
/// Unset (the normal case) they cost one dictionary lookup. Names:
/// - `commit.before-lake`: the upload is verified and extracted, nothing is placed yet (the
///   outage tests stop the S3 store here);
/// - `commit.after-lake`: objects are placed in the lake, the catalog transaction has not run;
/// - `commit.after-catalog`: the catalog committed, arrival manifests are not written yet.
public struct FailPoints: Sendable {
    private let sleeps: [String: Int]

    public init(spec: String?) {
        var s: [String: Int] = [:]
        for item in (spec ?? "").split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            if kv[1] == "crash" {
                s[String(kv[0])] = -1
            } else if kv[1].hasPrefix("sleep:"), let ms = Int(kv[1].dropFirst(6)), ms >= 0 {
                s[String(kv[0])] = ms
            }
        }
        sleeps = s
    }

    public static let none = FailPoints(spec: nil)

    public func hit(_ name: String) async {
        guard let ms = sleeps[name] else { return }
        if ms < 0 { kill(getpid(), SIGKILL) }
        try? await Task.sleep(for: .milliseconds(ms))
    }
}
