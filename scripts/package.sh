#!/usr/bin/env bash
# Debian packages for gateways and core hosts: release binaries with the Swift runtime linked in
# (`--static-swift-stdlib`), so the target machine needs no Swift toolchain, only the C libraries
# Debian ships (zstd, OpenSSL, SQLite, curl — listed in Depends).
#
#   scripts/package.sh [edge|core|all] [--out DIR]      (default: all, into dist/)
#
# Each package (tributary-edge_<version>_<arch>.deb, tributary-core_…):
#   /usr/bin/tributary-<agent>                    the release binary (stripped)
#   /lib/systemd/system/tributary-<agent>.service the unit of deploy/systemd, ExecStart on /usr/bin
#   /etc/tributary/<agent>.toml                   the example configuration (a conffile: an edited
#                                                 copy survives upgrades), paths set for the unit
#   /usr/share/doc/tributary-<agent>/README.md
# postinst creates the system user and group `tributary` (no login, home /var/lib/tributary), the
# state directories, and for the core an admin token in /etc/tributary/secrets/admin_token if there is
# none; it does not start the service (the edge needs its site and token first). prerm stops it.
#
# The package's Depends is computed from the binary: each shared library `ldd` lists is mapped to the
# Debian package that owns it (`dpkg -S`). The build fails if the binary needs a Swift runtime library.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

die() { echo "package.sh: error: $*" >&2; exit 1; }
note() { echo "package.sh: $*" >&2; }

which_agents=all
out_dir="$repo_root/dist"
while (($# > 0)); do
    case "$1" in
        edge | core | all) which_agents="$1" ;;
        --out) shift; [[ $# -gt 0 ]] || die "--out needs a directory"; out_dir="$1" ;;
        -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
    shift
done
case "$which_agents" in
    all) agents=(edge core) ;;
    *) agents=("$which_agents") ;;
esac

command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
arch="$(dpkg --print-architecture)"
version="$(sed -n 's/^public let tributaryEdgeVersion = "\([0-9.]*\)"$/\1/p' Sources/TributaryEdge/Status/AgentRuntime.swift)"
[[ -n "$version" ]] || die "could not read the version from Sources/TributaryEdge/Status/AgentRuntime.swift"

build_flags=(-c release --static-swift-stdlib)
for agent in "${agents[@]}"; do
    note "swift build ${build_flags[*]} --product tributary-$agent"
    swift build "${build_flags[@]}" --product "tributary-$agent"
done
bin_dir="$(swift build "${build_flags[@]}" --show-bin-path)"
mkdir -p "$out_dir"

# The Debian packages that own the shared libraries a binary needs directly (its NEEDED entries,
# resolved to paths by ldd), as a Depends list.
depends_of() {
    local binary="$1" lib path pkg
    local -A pkgs=() resolved=()
    while read -r lib path; do resolved["$lib"]="$path"; done < <(ldd "$binary" | awk '$2 == "=>" { print $1, $3 }')
    while read -r lib; do
        path="${resolved[$lib]:-not-found}"
        case "$lib" in
            ld-linux-*) continue ;;
            libswift* | libFoundation* | lib_Foundation* | libdispatch* | libBlocksRuntime*)
                die "$binary links the Swift runtime library $lib ($path): not a static-stdlib build" ;;
        esac
        [[ "$path" == /* ]] || die "$binary: $lib not found (ldd: $path)"
        pkg="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1)" \
            || pkg=""
        [[ -n "$pkg" ]] || pkg="$(dpkg -S "$path" 2>/dev/null | head -n1 | cut -d: -f1)" || true
        [[ -n "$pkg" ]] || die "$binary: no Debian package owns $path"
        pkgs["$pkg"]=1
    done < <(objdump -p "$binary" | awk '$1 == "NEEDED" { print $2 }')
    local sorted
    sorted="$(printf '%s\n' "${!pkgs[@]}" | sort)"
    echo "$sorted" | paste -sd, | sed 's/,/, /g'
}

# The example configuration with the paths the unit expects.
edge_config() {
    sed -e 's|^token = "trb_replace_me" .*$|# token: the unit passes /etc/tributary/edge.token as TRIBUTARY_TOKEN_FILE; never put it here|' \
        -e 's|^inbox = "./tributary-data/edge/inbox" .*$|inbox = "/srv/tributary/inbox"         # inbox/<stream>/<name…>|' \
        -e 's|^spool_dir = "./tributary-data/edge/spool"$|spool_dir = "/var/lib/tributary/spool"|' \
        edge/tributary-edge.toml
}

build_deb() {
    local agent="$1" name="tributary-$1"
    local binary="$bin_dir/$name"
    [[ -x "$binary" ]] || die "$binary was not built"
    local stage
    stage="$(mktemp -d -t "$name-deb.XXXXXX")"
    trap 'rm -rf "$stage"' RETURN

    install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/tributary" \
        "$stage/usr/share/doc/$name"
    install -m 0755 "$binary" "$stage/usr/bin/$name"
    strip --strip-unneeded "$stage/usr/bin/$name"
    sed 's|/usr/local/bin/|/usr/bin/|g' "deploy/systemd/$name.service" >"$stage/lib/systemd/system/$name.service"
    chmod 0644 "$stage/lib/systemd/system/$name.service"
    install -m 0644 "$agent/README.md" "$stage/usr/share/doc/$name/README.md"
    if [[ "$agent" == edge ]]; then
        edge_config >"$stage/etc/tributary/edge.toml"
        grep -q '^inbox = "/srv/tributary/inbox"' "$stage/etc/tributary/edge.toml" \
            && grep -q '^spool_dir = "/var/lib/tributary/spool"$' "$stage/etc/tributary/edge.toml" \
            && ! grep -q '^token = ' "$stage/etc/tributary/edge.toml" \
            || die "edge/tributary-edge.toml changed shape: update edge_config in scripts/package.sh"
        chmod 0640 "$stage/etc/tributary/edge.toml"
    else
        install -m 0640 core/tributary-core.toml "$stage/etc/tributary/core.toml"
    fi
    (cd "$stage" && find etc -type f | sed 's|^|/|' | sort) >"$stage/DEBIAN/conffiles"

    local depends installed_kb
    depends="$(depends_of "$binary")"
    installed_kb="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
    cat >"$stage/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: Tributary maintainers <tributary@localhost>
Installed-Size: $installed_kb
Depends: adduser, $depends
Section: net
Priority: optional
Homepage: https://github.com/tributary
Description: Tributary $agent agent (IoT edge-to-core aggregation)
 The $agent side of Tributary, built with the Swift runtime linked in: no Swift
 toolchain is needed on this machine. Configuration: /etc/tributary/$agent.toml;
 service: $name.service (not started on install).
EOF

    # postinst: the system user, the directories the unit writes, the core's admin token.
    {
        echo '#!/bin/sh'
        echo 'set -e'
        echo 'if [ "$1" = configure ]; then'
        echo '    if ! getent group tributary >/dev/null; then addgroup --system tributary >/dev/null; fi'
        echo '    if ! getent passwd tributary >/dev/null; then'
        echo '        adduser --system --ingroup tributary --home /var/lib/tributary --no-create-home \'
        echo '            --shell /usr/sbin/nologin --gecos "Tributary agent" tributary >/dev/null'
        echo '    fi'
        echo '    install -d -m 0750 -o tributary -g tributary /var/lib/tributary'
        echo '    chgrp tributary /etc/tributary/*.toml 2>/dev/null || true'
        if [[ "$agent" == edge ]]; then
            echo '    install -d -m 0750 -o tributary -g tributary /srv/tributary /srv/tributary/inbox'
            echo '    [ -e /etc/tributary/edge.token ] || echo "tributary-edge: set site and core_url in /etc/tributary/edge.toml, the token in /etc/tributary/edge.token (mode 0600), then: systemctl enable --now tributary-edge"'
        else
            echo '    install -d -m 0750 -o tributary -g tributary /var/lib/tributary/core'
            echo '    install -d -m 0700 /etc/tributary/secrets'
            echo '    if [ ! -e /etc/tributary/secrets/admin_token ]; then'
            echo '        (umask 077; printf "adm_%s\n" "$(od -An -N24 -tx1 /dev/urandom | tr -d " \n")" >/etc/tributary/secrets/admin_token)'
            echo '    fi'
            echo '    echo "tributary-core: review /etc/tributary/core.toml, then: systemctl enable --now tributary-core"'
        fi
        echo '    if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi'
        echo 'fi'
        echo 'exit 0'
    } >"$stage/DEBIAN/postinst"
    {
        echo '#!/bin/sh'
        echo 'set -e'
        echo "if [ -d /run/systemd/system ] && [ \"\$1\" = remove ]; then systemctl stop $name.service || true; fi"
        echo 'exit 0'
    } >"$stage/DEBIAN/prerm"
    {
        echo '#!/bin/sh'
        echo 'set -e'
        echo 'if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi'
        echo 'exit 0'
    } >"$stage/DEBIAN/postrm"
    chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

    local deb="$out_dir/${name}_${version}_${arch}.deb"
    dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
    note "built $deb ($(du -h "$deb" | cut -f1); Depends: adduser, $depends)"
    echo "$deb"
}

for agent in "${agents[@]}"; do
    build_deb "$agent"
done
