#!/usr/bin/env bash
# The project's test command (see README):
#
#   scripts/test.sh [PYTEST ARGS...]
#
# 1. scripts/bootstrap.sh  — Debian packages and the .venv for the integration suite
# 2. swift build            — debug build of every target, tributary-core included
# 3. swift test             — unit tests (Swift Testing), with a PostgreSQL and a SeaweedFS started
#                             for the backend contract tests; skipped with SKIP_SWIFT_TEST=1
# 4. scripts/fuzz.sh all — every libFuzzer target of Fuzz/ for FUZZ_SECONDS each (default 20;
#    with the sanitizer build about 4 minutes); a crash fails the run. Skipped with SKIP_FUZZ=1.
# 5. scripts/package.sh edge — the edge's .deb (release build), installed and run by test_package.py
# 6. pytest Tests/integration against the real tributary-core binary on 127.0.0.1, over both
#    backend pairs (filesystem+SQLite, S3+PostgreSQL on real servers the suite starts)
#
# Extra arguments go to pytest, e.g. `scripts/test.sh -k tuspy` or `scripts/test.sh -x -vv`.
# Exits non-zero if any step fails; the integration suite still runs when `swift test` failed,
# so one run reports both.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

step() { echo "==> $*" >&2; }
die() { echo "test.sh: error: $*" >&2; exit 1; }

step "bootstrap"
bash scripts/bootstrap.sh || die "bootstrap failed"

step "swift build"
swift build || die "swift build failed"

status=0
if [[ "${SKIP_SWIFT_TEST:-0}" == 1 ]]; then
    step "swift test (skipped: SKIP_SWIFT_TEST=1)"
else
    # The catalog and lake contract tests also run against a real PostgreSQL and a real S3 store
    # (SeaweedFS), started here in a temporary directory on free loopback ports and stopped after.
    step "starting PostgreSQL and SeaweedFS for swift test"
    backends_dir="$(mktemp -d -t tributary-backends.XXXXXX)"
    stop_backends() { .venv/bin/python Tests/integration/backends.py down "$backends_dir" || true; }
    trap stop_backends EXIT
    backend_env="$(.venv/bin/python Tests/integration/backends.py up "$backends_dir")" || die "could not start the test backends"
    step "swift test"
    ( eval "$backend_env"; swift test ) || { echo "test.sh: swift test failed" >&2; status=1; }
    stop_backends
    trap - EXIT
fi

if [[ "${SKIP_FUZZ:-0}" == 1 ]]; then
    step "fuzz (skipped: SKIP_FUZZ=1)"
else
    step "fuzz: every target for ${FUZZ_SECONDS:-20} s"
    scripts/fuzz.sh all "${FUZZ_SECONDS:-20}" || { echo "test.sh: a fuzz target failed (input in .build-fuzz/artifacts/)" >&2; status=1; }
fi

bin="$(swift build --show-bin-path)/tributary-core"
[[ -x "$bin" ]] || die "$bin was not built"

# The edge's Debian package (release build, Swift runtime linked in) for test_package.py: about
# 3 minutes on 2 cores from a clean clone. The core's package is built by scripts/package.sh alone.
step "package the edge (.deb, release build)"
dist_dir="$(mktemp -d -t tributary-dist.XXXXXX)"
if deb="$(scripts/package.sh edge --out "$dist_dir" | tail -n1)"; then
    export TRIBUTARY_EDGE_DEB="$deb"
else
    echo "test.sh: scripts/package.sh edge failed" >&2
    status=1
    export TRIBUTARY_EDGE_DEB="$dist_dir/package-failed.deb"
fi

step "integration tests (Tests/integration) against $bin"
TRIBUTARY_CORE_BIN="$bin" PYTHONDONTWRITEBYTECODE=1 \
    .venv/bin/pytest -q Tests/integration "$@" || status=$?

exit "$status"
