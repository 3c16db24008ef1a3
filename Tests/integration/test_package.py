"""The edge's Debian package (scripts/package.sh): what it holds, that its binary needs no Swift
runtime library, and that the packaged binary with the packaged configuration ships a file to a core.

The .deb comes from TRIBUTARY_EDGE_DEB (scripts/test.sh builds it once before the suite); without
it the test builds one with scripts/package.sh (a release build: minutes).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, wait_until

# What a gateway's Swift-free edge may link: the C libraries of its Depends, and libc's family.
SWIFT_LIBRARY = re.compile(r"lib(swift\w*|Foundation\w*|_Foundation\w*|dispatch|BlocksRuntime)\.so")


@pytest.fixture(scope="module")
def edge_deb(tmp_path_factory) -> Path:
    given = os.environ.get("TRIBUTARY_EDGE_DEB")
    if given:
        path = Path(given)
        assert path.is_file(), f"TRIBUTARY_EDGE_DEB={given} does not exist"
        return path
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([str(REPO_ROOT / "scripts/package.sh"), "edge", "--out", str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, f"package.sh failed\n{proc.stderr[-4000:]}"
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def root(edge_deb, tmp_path_factory) -> Path:
    """The package unpacked into an empty directory tree."""
    r = tmp_path_factory.mktemp("root")
    subprocess.run(["dpkg-deb", "-x", str(edge_deb), str(r)], check=True)
    return r


def field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], check=True, capture_output=True, text=True).stdout.strip()


def clean_env(**extra: str) -> dict[str, str]:
    """An environment without the toolchain: no LD_LIBRARY_PATH, a PATH of system directories."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LD_", "TRIBUTARY_"))}
    env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
    env.update(extra)
    return env


def test_the_package_holds_binary_unit_config_and_scripts(edge_deb, root):
    assert field(edge_deb, "Package") == "tributary-edge"
    depends = field(edge_deb, "Depends")
    for lib in ("libzstd1", "libsqlite3-0", "libcurl4", "libssl3", "adduser"):
        assert lib in depends, f"Depends lacks {lib}: {depends}"
    assert "swift" not in depends.lower()
    listing = subprocess.run(["dpkg-deb", "-c", str(edge_deb)], check=True, capture_output=True, text=True).stdout
    for path in ("./usr/bin/tributary-edge", "./lib/systemd/system/tributary-edge.service", "./etc/tributary/edge.toml"):
        assert path in listing, f"{path} missing from the package:\n{listing}"
    # Every file under etc/ is a conffile: an operator's edits survive an upgrade.
    control = Path(subprocess.run(["mktemp", "-d"], check=True, capture_output=True, text=True).stdout.strip())
    try:
        subprocess.run(["dpkg-deb", "-e", str(edge_deb), str(control)], check=True)
        assert (control / "conffiles").read_text().split() == ["/etc/tributary/edge.toml"]
        postinst = (control / "postinst").read_text()
        assert "adduser --system" in postinst and "/srv/tributary/inbox" in postinst
        for script in ("postinst", "prerm", "postrm"):
            subprocess.run(["sh", "-n", str(control / script)], check=True)
            assert os.access(control / script, os.X_OK)
    finally:
        subprocess.run(["rm", "-rf", str(control)], check=True)
    unit = (root / "lib/systemd/system/tributary-edge.service").read_text()
    assert "ExecStart=/usr/bin/tributary-edge run --config /etc/tributary/edge.toml" in unit
    assert "User=tributary" in unit
    config = (root / "etc/tributary/edge.toml").read_text()
    assert 'inbox = "/srv/tributary/inbox"' in config and 'spool_dir = "/var/lib/tributary/spool"' in config
    assert not re.search(r"^token\s*=", config, re.M), "the packaged config must not carry a token"


def test_the_binary_needs_no_swift_runtime(root):
    binary = root / "usr/bin/tributary-edge"
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, env=clean_env(), check=True).stdout
    assert "not found" not in ldd, ldd
    assert not SWIFT_LIBRARY.search(ldd), f"links a Swift runtime library:\n{ldd}"
    toolchain = Path(subprocess.run(["which", "swift"], capture_output=True, text=True).stdout.strip() or "/opt/swift/usr/bin/swift")
    toolchain_root = str(toolchain.resolve().parents[2]) if toolchain.exists() else "/opt/swift"
    assert toolchain_root not in ldd, f"resolves a library from the toolchain ({toolchain_root}):\n{ldd}"
    help_text = subprocess.run([str(binary), "--help"], capture_output=True, text=True, env=clean_env(), timeout=30)
    assert help_text.returncode == 0, help_text.stderr
    assert "run" in help_text.stdout and "put" in help_text.stdout


def test_the_packaged_edge_ships_a_file_to_a_core(root, core_factory, tmp_path):
    """The packaged binary with the packaged configuration (paths and site from TRIBUTARY_* as
    an operator's unit would set them) puts a file and delivers it; its peak RSS is reported."""
    core = core_factory()
    site = core.new_site("pkg")
    binary = root / "usr/bin/tributary-edge"
    token_file = tmp_path / "edge.token"
    token_file.write_text(site.token + "\n")
    token_file.chmod(0o600)
    env = clean_env(
        TRIBUTARY_SITE=site.site, TRIBUTARY_CORE_URL=core.base, TRIBUTARY_TOKEN_FILE=str(token_file),
        TRIBUTARY_INBOX=str(tmp_path / "inbox"), TRIBUTARY_SPOOL_DIR=str(tmp_path / "spool"))
    (tmp_path / "inbox").mkdir()
    config = str(root / "etc/tributary/edge.toml")
    reading = tmp_path / "reading.csv"
    data = b"t,c\n" + b"".join(b"%d,%d.5\n" % (1700000000 + i, 20 + i % 7) for i in range(300))
    reading.write_bytes(data)
    put = subprocess.run([str(binary), "put", "--stream", "weather", str(reading), "--config", config],
                         capture_output=True, text=True, env=env, timeout=60)
    assert put.returncode == 0, f"put failed\n{put.stdout}\n{put.stderr}"

    log = open(tmp_path / "edge.log", "wb")
    proc = subprocess.Popen([str(binary), "run", "--config", config], stdout=log, stderr=subprocess.STDOUT, env=env)
    peak_kb = 0

    def sample():
        nonlocal peak_kb
        while proc.poll() is None:
            try:
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak_kb = max(peak_kb, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        rows = wait_until(lambda: core.query("SELECT sha256, key FROM arrivals WHERE site = ?", (site.site,)), 60, 0.2,
                          what="the packaged edge's file to arrive")
        assert rows[0][0] == hashlib.sha256(data).hexdigest()
        assert (core.lake / rows[0][1]).read_bytes() == data
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        sampler.join(timeout=5)
        log.close()
    assert code == 0, (tmp_path / "edge.log").read_text()[-4000:]
    print(f"\npackaged tributary-edge: peak RSS {peak_kb / 1024:.1f} MiB (one file, put then delivered)")
    # Far above the figure docs/PERFORMANCE.md reports; a guard against a gross regression only.
    assert 0 < peak_kb < 64 * 1024, f"peak RSS {peak_kb} KiB"
