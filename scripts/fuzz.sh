#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of Fuzz/ (docs/FUZZING.md).
#
#   scripts/fuzz.sh TARGET [SECONDS]    run one target (default 60 s)
#   scripts/fuzz.sh all [SECONDS]       run every target for SECONDS each
#   scripts/fuzz.sh list                name the targets
#   scripts/fuzz.sh build               only build the fuzz binary
#
# Targets: tar, segment, metadata, names, timestamp, json, s3listing, dictionary, toml. One sanitizer
# build (swiftc -sanitize=fuzzer,address over Fuzz/*.swift, Sources/TributaryProtocol/*.swift and
# Sources/TributaryTOML/*.swift) in
# .build-fuzz/ serves them all; it is rebuilt only when a source is newer than the binary.
# Each run starts from the seed corpus Fuzz/corpus/TARGET (read only) and keeps what it
# learns in .build-fuzz/corpus/TARGET. A crash, a leak, a timeout or an out-of-memory stops
# the run; the input is written to .build-fuzz/artifacts/TARGET/ and the script exits non-zero.
#
# Environment: FUZZ_RSS_MB (default 2048),
# FUZZ_TIMEOUT (seconds per input, default 10), FUZZ_RUNS (stop after this many executions
# instead of SECONDS), FUZZ_NO_BUILD=1 (use the existing binary), extra libFuzzer flags in FUZZ_FLAGS.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

targets=(tar segment metadata names timestamp json s3listing dictionary toml)
out=.build-fuzz
bin="$out/tributary-fuzz"

die() { echo "fuzz.sh: error: $*" >&2; exit 1; }

build() {
    mkdir -p "$out"
    local sources=(Fuzz/*.swift Sources/TributaryProtocol/*.swift Sources/TributaryTOML/*.swift)
    # FUZZ_NO_BUILD=1 keeps the binary as it is (long runs while the sources change).
    if [[ -x "$bin" && "${FUZZ_NO_BUILD:-0}" == 1 ]]; then return; fi
    if [[ -x "$bin" ]] && [[ -z "$(find "${sources[@]}" Sources/CZstd Sources/CCrypto -newer "$bin" -print -quit)" ]]; then
        return
    fi
    echo "==> building $bin (swiftc -sanitize=fuzzer,address)" >&2
    # -O: libFuzzer needs speed; -g for symbolized stack traces. lld because gold warns about
    # every sanitizer helper symbol.
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -use-ld=lld \
        -module-name TributaryFuzz \
        -I Sources/CZstd -I Sources/CCrypto \
        "${sources[@]}" -lzstd -lcrypto -o "$bin.tmp" || die "sanitizer build failed"
    mv "$bin.tmp" "$bin"
}

run() {
    local target="$1" seconds="$2"
    [[ -d "Fuzz/corpus/$target" ]] || die "no seed corpus Fuzz/corpus/$target"
    mkdir -p "$out/corpus/$target" "$out/artifacts/$target"
    local limit=(-max_total_time="$seconds")
    [[ -n "${FUZZ_RUNS:-}" ]] && limit=(-runs="$FUZZ_RUNS")
    echo "==> fuzzing $target (${FUZZ_RUNS:+$FUZZ_RUNS runs}${FUZZ_RUNS:-$seconds s})" >&2
    # SWIFT_BACKTRACE=enable=no: Swift's crash handler would otherwise wait on the crashed
    # process and libFuzzer would never write the crashing input.
    # shellcheck disable=SC2086
    SWIFT_BACKTRACE=enable=no TRIBUTARY_FUZZ_TARGET="$target" "$bin" \
        "${limit[@]}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -timeout="${FUZZ_TIMEOUT:-10}" \
        -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$target/" ${FUZZ_FLAGS:-} \
        "$out/corpus/$target" "Fuzz/corpus/$target"
}

[[ $# -ge 1 ]] || die "usage: scripts/fuzz.sh TARGET|all|list|build [SECONDS]"
what="$1"
seconds="${2:-60}"
case "$what" in
    list) printf '%s\n' "${targets[@]}"; exit 0 ;;
    build) build ;;
    all)
        # Every target runs even when one fails; the exit status says whether any did.
        build
        failed=()
        for t in "${targets[@]}"; do run "$t" "$seconds" || failed+=("$t"); done
        [[ ${#failed[@]} -eq 0 ]] || die "failed: ${failed[*]} (inputs in $out/artifacts/)" ;;
    *)
        [[ " ${targets[*]} " == *" $what "* ]] || die "unknown target '$what' (scripts/fuzz.sh list)"
        build; run "$what" "$seconds" ;;
esac
