#!/usr/bin/env python3
"""Benchmark: Tributary edge → core (filesystem lake, S3 lake) beside rclone into the same SeaweedFS,
in one invocation, on loopback (issue 14).

    .venv/bin/python scripts/bench.py [--files 2000] [--large-mib 256] [--data DIR] [--bin-dir DIR] [--skip-s3]

Workloads:
  small  N CSV files of 0.5–4 KB (generated sensor readings), or every file under --data (real data);
  large  one incompressible file of --large-mib MiB.
Runs, for each workload:
  rclone     `rclone copy --transfers 16` into a SeaweedFS bucket (the reference);
  fs lake    tributary-edge → tributary-core with the embedded defaults (filesystem lake + SQLite);
  s3 lake    tributary-edge → tributary-core with an S3 lake (the same SeaweedFS) + PostgreSQL.
Every client talks through a fault-free `tributary-faultproxy`, whose counters give the bytes on the
wire both ways. Measured: objects/s and MB/s from the first file offered to the last one durable at
the far end (for Tributary: acknowledged by the core's receipt; for rclone: its exit), wire bytes ÷ raw
bytes, peak RSS (VmHWM) of the edge, the core and rclone, and their CPU seconds. Also printed: the
ratio of `tar | zstd -19` of the small files, the best a compressing shipper could do.

Uses the release build (`swift build -c release`, run if the binaries are missing) unless --bin-dir
names another. Installs rclone from Debian if it is missing. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "integration"))


def release_bin_dir() -> Path:
    out = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True)
    d = Path(out.stdout.strip())
    if not all((d / b).exists() for b in ("tributary-core", "tributary-edge", "tributary-faultproxy")):
        print("building the release binaries (swift build -c release) …", file=sys.stderr)
        subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT, check=True)
    return d


def ensure_rclone() -> str:
    path = shutil.which("rclone")
    if path:
        return path
    print("installing rclone from Debian …", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "rclone"], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return shutil.which("rclone") or "/usr/bin/rclone"


# ------------------------------------------------------------------------------------------------
# Workloads


def csv_file(rng: random.Random, size: int, station: int) -> bytes:
    lines = ["time,station,temperature_c,humidity_pct,pressure_hpa,wind_ms"]
    t = 1_795_000_000 + station * 3600
    while sum(len(x) + 1 for x in lines) < size:
        t += 60
        lines.append(f"{t},{station},{rng.gauss(12, 6):.2f},{rng.uniform(20, 100):.1f},{rng.gauss(1013, 8):.1f},{abs(rng.gauss(4, 3)):.1f}")
    return ("\n".join(lines) + "\n").encode()


def make_small(dst: Path, n: int, data: Path | None) -> list[Path]:
    dst.mkdir(parents=True)
    if data is not None:
        files = sorted(p for p in data.rglob("*") if p.is_file())
        out = []
        for i, p in enumerate(files):
            q = dst / f"{i:06d}-{p.name}"
            shutil.copyfile(p, q)
            out.append(q)
        return out
    rng = random.Random(14)
    out = []
    for i in range(n):
        p = dst / f"station-{i % 97:03d}-{i:06d}.csv"
        p.write_bytes(csv_file(rng, rng.randint(512, 4096), i % 97))
        out.append(p)
    return out


def make_large(dst: Path, mib: int) -> list[Path]:
    dst.mkdir(parents=True)
    p = dst / "clip.bin"
    with open(p, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))
    return [p]


# ------------------------------------------------------------------------------------------------
# Process figures from /proc


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Result:
    def __init__(self, name: str, files: int, raw: int, seconds: float, wire: int, rss: dict[str, float], cpu: float):
        self.name, self.files, self.raw, self.seconds, self.wire, self.rss, self.cpu = name, files, raw, seconds, wire, rss, cpu


# ------------------------------------------------------------------------------------------------
# Runs


def run_rclone(rclone: str, weed, files: list[Path], src: Path, work: Path, proxy_cls) -> Result:
    proxy = proxy_cls(work / "proxy-rclone", weed.ports["s3"]).start()
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)
    env.update({
        "RCLONE_CONFIG_BENCH_TYPE": "s3", "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
        "RCLONE_CONFIG_BENCH_ENDPOINT": proxy.url, "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": weed.access_key,
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": weed.secret_key, "RCLONE_CONFIG_BENCH_REGION": "us-east-1",
    })
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    proc = subprocess.Popen([rclone, "copy", str(src), f"bench:{weed.bucket}/rclone-{src.name}", "--transfers", "16",
                             "--s3-no-check-bucket", "--no-traverse", "-q"], env=env)
    peak = 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, peak_rss_mib(proc.pid))
        except OSError:
            pass
        time.sleep(0.05)
    seconds = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"rclone failed with {proc.returncode}")
    stats = proxy.stats()
    proxy.stop()
    raw = sum(p.stat().st_size for p in files)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Result("rclone → SeaweedFS", len(files), raw, seconds, stats["bytes_up"] + stats["bytes_down"],
                  {"rclone": max(peak, after.ru_maxrss / 1024)}, cpu)


def run_tributary(name: str, backend, files: list[Path], work: Path) -> Result:
    from conftest import CoreServer
    from edgekit import EdgeAgent, FaultProxy

    core = CoreServer(work / f"core-{name}", backend=backend)
    core.start()
    proxy = FaultProxy(work / f"proxy-{name}", core.port).start()
    site = f"bench-{name}"
    token = core.add_site(site)
    # The agent's own defaults: no test shortcuts (segment age, settle time, retry pacing).
    agent = EdgeAgent(work / f"edge-{name}", proxy.url, site, token, log_level="notice", settle_ms=None, poll_ms=None,
                      segment_max_age_ms=None, retry_base_ms=None, retry_cap_ms=None, stall_seconds=None,
                      connect_timeout_seconds=None, max_spool_bytes=8 << 30)
    agent.start()
    stream_dir = agent.inbox / "readings"
    stream_dir.mkdir()
    cpu0 = cpu_seconds(core.proc.pid) + cpu_seconds(agent.proc.pid)
    t = time.monotonic()
    for p in files:
        # A writer's usual pattern: the file appears whole, by rename (same filesystem: no copy).
        os.link(p, agent.dir / "staging-link")
        os.rename(agent.dir / "staging-link", stream_dir / p.name)
    agent.wait_drained(timeout=1800, acked=len(files))
    seconds = time.monotonic() - t
    cpu = cpu_seconds(core.proc.pid) + cpu_seconds(agent.proc.pid) - cpu0
    rss = {"edge": agent.peak_rss_kb / 1024, "core": peak_rss_mib(core.proc.pid)}
    stats = proxy.stats()
    agent.stop()
    proxy.stop()
    core.stop()
    raw = sum(p.stat().st_size for p in files)
    return Result(f"tributary, {name} lake", len(files), raw, seconds, stats["bytes_up"] + stats["bytes_down"], rss, cpu)


def tar_zstd_ratio(src: Path) -> float:
    tar = subprocess.run(["tar", "-C", str(src), "-cf", "-", "."], capture_output=True, check=True).stdout
    z = subprocess.run(["zstd", "-19", "-q", "-c"], input=tar, capture_output=True, check=True).stdout
    raw = sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    return len(z) / raw


def table(workload: str, results: list[Result], reference: float | None) -> str:
    base = results[0]
    lines = [f"\n## {workload}: {base.files} files, {base.raw / 1e6:.1f} MB",
             "| run | objects/s | MB/s | × rclone | wire ÷ raw | peak RSS MiB | CPU s |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        ops = r.files / r.seconds
        mbs = r.raw / r.seconds / 1e6
        ratio = (base.seconds / r.seconds) if r is not base else 1.0
        rss = ", ".join(f"{k} {v:.1f}" for k, v in r.rss.items())
        lines.append(f"| {r.name} | {ops:,.{0 if ops >= 10 else 2}f} | {mbs:.1f} | {ratio:.2f} | {r.wire / r.raw:.3f} | {rss} | {r.cpu:.1f} |")
    if reference is not None:
        lines.append(f"| reference: `tar \\| zstd -19` | | | | {reference:.3f} | | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--large-mib", type=int, default=256)
    ap.add_argument("--data", type=Path, help="a directory of real files for the small workload")
    ap.add_argument("--bin-dir", type=Path)
    ap.add_argument("--skip-s3", action="store_true", help="only rclone and the filesystem lake")
    args = ap.parse_args()

    bin_dir = args.bin_dir or release_bin_dir()
    os.environ["TRIBUTARY_CORE_BIN"] = str(bin_dir / "tributary-core")
    os.environ["TRIBUTARY_EDGE_BIN"] = str(bin_dir / "tributary-edge")
    os.environ["TRIBUTARY_FAULTPROXY_BIN"] = str(bin_dir / "tributary-faultproxy")
    rclone = ensure_rclone()

    from backends import Postgres, SeaweedFS
    from backend_pairs import FsSqlite, S3Postgres
    from edgekit import FaultProxy

    work = Path(tempfile.mkdtemp(prefix="tributary-bench-"))
    weed = SeaweedFS().start()
    pg = None if args.skip_s3 else Postgres().start()
    out = []
    try:
        workloads = [("small files", make_small(work / "small", args.files, args.data), True),
                     ("one large file", make_large(work / "large", args.large_mib), False)]
        for label, files, with_reference in workloads:
            src = files[0].parent
            results = [run_rclone(rclone, weed, files, src, work / label.replace(" ", "-"), FaultProxy)]
            results.append(run_tributary("fs", FsSqlite(), files, work / label.replace(" ", "-")))
            if pg is not None:
                results.append(run_tributary("s3", S3Postgres(pg, weed), files, work / label.replace(" ", "-")))
            out.append(table(label, results, tar_zstd_ratio(src) if with_reference else None))
            print(out[-1], flush=True)
    finally:
        weed.cleanup()
        if pg is not None:
            pg.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n(bin: {bin_dir}; {os.cpu_count()} cores; every client through a fault-free tributary-faultproxy on loopback)")


if __name__ == "__main__":
    main()
