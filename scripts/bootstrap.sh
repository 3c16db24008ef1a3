#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian machine for building and testing Tributary.
#
#   - Debian packages the build links against (zstd, sqlite, curl, openssl) and the CLI tools the
#     tests use, PostgreSQL and nginx among them (the scale-out tests start their own instances;
#     the Debian packages' default ones are not used), chromium (the dashboard page test) and
#     prometheus (its promtool checks the alert rules and the /metrics exposition; its server is
#     not started); `apt-get update` runs only when something is missing.
#   - A Python virtual environment at .venv with scripts/requirements-test.txt; pip runs only when
#     that file changed since the last install (a stamp file in .venv holds its hash).
#
# Runs as root (no sudo). Safe to run again: a second run does nothing and prints nothing.
# `--system-only` stops after the Debian packages (the demo needs no Python).
set -euo pipefail
system_only=0
[[ "${1:-}" == "--system-only" ]] && system_only=1

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

die() { echo "bootstrap: error: $*" >&2; exit 1; }
note() { echo "bootstrap: $*" >&2; }

apt_packages=(
    libzstd-dev libsqlite3-dev libcurl4-openssl-dev libssl-dev pkg-config
    zstd sqlite3 curl openssl tar python3-venv
    postgresql postgresql-client nginx-light chromium prometheus
)

# --- Debian packages ------------------------------------------------------------------------
missing=()
for pkg in "${apt_packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]} > 0)); then
    command -v apt-get >/dev/null || die "apt-get not found; install by hand: ${missing[*]}"
    [[ $(id -u) -eq 0 ]] || die "must run as root to install: ${missing[*]}"
    note "installing ${missing[*]}"
    log="$(mktemp)"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "apt-get failed to install: ${missing[*]}"
    fi
    rm -f "$log"
fi

((system_only)) && exit 0

# --- Python virtual environment ---------------------------------------------------------------
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || die "$python not found"
requirements="scripts/requirements-test.txt"
venv=".venv"
stamp="$venv/.requirements.sha256"
[[ -f "$requirements" ]] || die "$requirements is missing"

if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$venv"
    note "creating $venv"
    "$python" -m venv "$venv" || die "'$python -m venv $venv' failed (is python3-venv installed?)"
    rm -f "$stamp"
fi

want="$(sha256sum "$requirements" | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [[ "$want" != "$have" ]]; then
    note "installing $requirements into $venv"
    log="$(mktemp)"
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$requirements" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "pip install -r $requirements failed"
    fi
    rm -f "$log"
    echo "$want" >"$stamp"
fi
