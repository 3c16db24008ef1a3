// libFuzzer entry point for every Tributary fuzz target (docs/FUZZING.md).
//
// scripts/fuzz.sh compiles this directory together with Sources/TributaryProtocol/*.swift into
// one binary (`swiftc -sanitize=fuzzer,address`): one sanitizer build serves every target, which
// keeps the CI step short. The target is chosen by TRIBUTARY_FUZZ_TARGET. Each target's
// function checks properties of what the parser accepted with `precondition`, so a wrong
// answer is a finding just like a trap.
#if canImport(Glibc)
import Glibc
#endif

/// The fuzz targets, by the name scripts/fuzz.sh and the corpus directories use.
let fuzzTargets: [String: (UnsafeRawBufferPointer) -> Void] = [
    "tar": fuzzTar,
    "segment": fuzzSegment,
    "metadata": fuzzUploadMetadata,
    "names": fuzzNames,
    "timestamp": fuzzTimestamp,
    "json": fuzzJSONBodies,
    "s3listing": fuzzS3Listing,
    "dictionary": fuzzDictionary,
    "toml": fuzzTOML,
]

/// Resolved once: the environment does not change during a run.
let selectedTarget: (UnsafeRawBufferPointer) -> Void = {
    let name = getenv("TRIBUTARY_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = fuzzTargets[name] else {
        let known = fuzzTargets.keys.sorted().joined(separator: ", ")
        fputs("TRIBUTARY_FUZZ_TARGET must be one of: \(known) (got '\(name)')\n", stderr)
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    selectedTarget(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
