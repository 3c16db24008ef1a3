import Glibc

/// `strerror` as a Swift string.
enum SystemError {
    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code)) + " (errno \(code))"
    }
}
