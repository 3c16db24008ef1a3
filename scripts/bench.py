#!/usr/bin/env python3
"""Benchmark: Tributary edge → core (filesystem lake, S3 lake) beside rclone into the same SeaweedFS,
in one invocation, on loopback (issue 14).

    .venv/bin/python scripts/bench.py [--files 20000] [--large-mib 1024] [--dir DIR] [--quick]
        [--bin-dir DIR] [--edge-bin PATH|--edge-deb PATH] [--skip-s3] [--skip-large] [--skip-small] [--profile DIR]
        [--skip-rclone] [--strace DIR]
        [--backlog-gib 5] [--backlog-throttle 2000000] [--backlog-seconds 60]

Workloads:
  small  N CSV files of 0.5–4 KB (generated sensor readings, seeded), or every file under --dir (real data);
  large  one incompressible file of --large-mib MiB;
  backlog  --backlog-gib GiB of mixed files (small CSV, medium and large incompressible) offered at once to
         an edge whose link is throttled (--backlog-throttle bytes/s through the fault proxy): the whole
         backlog is accepted into the spool, then shipped for --backlog-seconds; the figures are the
         edge's and the core's peak RSS while holding and shipping it (issue 14: "edge peak RSS <= 24 MiB
         in every workload, including a 5 GB backlog of mixed files shipped through a throttled link"),
         the time to accept the backlog and the bytes shipped. No rclone row (nothing to compare).
Runs, for each workload:
  rclone     `rclone copy --transfers 16` into a SeaweedFS bucket (the reference), configured through
             RCLONE_CONFIG_* variables (no config file);
  fs lake    tributary-edge → tributary-core with the embedded defaults (filesystem lake + SQLite);
  s3 lake    tributary-edge → tributary-core with an S3 lake (the same SeaweedFS) + PostgreSQL.
Every client talks through a fault-free `tributary-faultproxy`, whose counters give the bytes on the
wire both ways. Measured: objects/s and MB/s from the first file offered to the last one durable at
the far end (for Tributary: acknowledged by the core's receipt; for rclone: its exit), wire bytes ÷ raw
bytes, peak RSS (VmHWM; rclone's from wait4's rusage) of the edge, the core and rclone, their CPU
seconds, and the CPU seconds SeaweedFS spent in the rclone and S3 rows. Also printed: the ratio of
`tar | zstd -19` of the small files, the best a compressing shipper could do.

Uses the release build (`swift build -c release`, run if the binaries are missing) unless --bin-dir
names another. `--edge-bin` (a binary) or `--edge-deb` (scripts/package.sh's .deb, unpacked with
dpkg-deb) runs the packaged edge in every Tributary row instead, so its RSS is the one reported.
`--profile DIR`: `perf record` of the edge and the core in each Tributary row, with the hottest
symbols printed. `--strace DIR`: `strace -c -f` of the edge in each Tributary row instead (syscalls per object;
strace slows the edge several-fold, so that row's times are not comparable). `--skip-rclone`: no rclone row (the
× columns then compare with the first Tributary row): for measuring the edge before and after a change. Each
Tributary row also prints the edge's and the core's CPU µs per object and the edge's peak RssAnon (anonymous
memory, sampled every 50 ms: what grows with the work, unlike the binary's file-backed pages). `--quick`: 500 small files, a 32 MiB file and a 0.25 GiB backlog shipped for 10 s, a smoke run of a minute or two. Installs rclone from
Debian if it is missing. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
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


def make_backlog(dst: Path, gib: float) -> list[Path]:
    """Mixed files totalling `gib` GiB: ~2 % small CSV (0.5–4 KB), ~18 % medium (1–16 MiB, half CSV-like,
    half incompressible), the rest large incompressible files of 256 MiB (the last one shorter)."""
    dst.mkdir(parents=True)
    rng = random.Random(5)
    total = int(gib * (1 << 30))
    out: list[Path] = []
    small_budget, medium_budget = total // 50, total * 18 // 100
    made = i = 0
    while made < small_budget:
        data = csv_file(rng, rng.randint(512, 4096), i % 97)
        p = dst / f"small-{i:06d}.csv"
        p.write_bytes(data)
        out.append(p)
        made += len(data)
        i += 1
    made = 0
    # One CSV-like MiB, built once (csv_file is meant for small files: it re-measures as it grows).
    rows = [csv_file(rng, 4096, k % 97) for k in range(256)]
    csv_mib = b"".join(rows)[: 1 << 20]
    while made < medium_budget:
        size = rng.randint(1 << 20, 16 << 20)
        p = dst / f"medium-{len(out):06d}.bin"
        with open(p, "wb") as f:
            if rng.random() < 0.5:
                for _ in range(size >> 20):
                    f.write(csv_mib)
            else:
                for _ in range(size >> 20):
                    f.write(os.urandom(1 << 20))
        out.append(p)
        made += p.stat().st_size
    left = total - sum(p.stat().st_size for p in out)
    n = 0
    while left > 0:
        mib = min(256, max(1, left >> 20))
        p = dst / f"large-{n:03d}.bin"
        with open(p, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        out.append(p)
        left -= mib << 20
        n += 1
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
    def __init__(self, name: str, files: int, raw: int, seconds: float, wire: int, client_rss: float, core_rss: float | None,
                 client_cpu: float, core_cpu: float | None, server_cpu: float | None, client_anon: float | None = None):
        self.name, self.files, self.raw, self.seconds, self.wire = name, files, raw, seconds, wire
        self.client_rss, self.core_rss, self.client_cpu, self.core_cpu, self.server_cpu = client_rss, core_rss, client_cpu, core_cpu, server_cpu
        self.client_anon = client_anon


class AnonPeak:
    """The peak of a process's RssAnon (its anonymous memory: heap, stacks — not the binary's pages),
    sampled every 50 ms on a thread of its own while a row runs (the kernel keeps no peak of it)."""

    def __init__(self, pid: int):
        import threading
        self.pid, self.peak_kb, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("RssAnon:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except (OSError, ValueError):
                return
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


class Strace:
    """`strace -c -f` of the edge during a row (--strace DIR): the system calls it made, counted."""

    def __init__(self, out: Path | None, label: str, pid: int):
        self.out, self.label, self.proc = out, label, None
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            self.proc = subprocess.Popen(["strace", "-c", "-f", "-o", str(self.path), "-p", str(pid)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # attached to every thread before the clock starts

    @property
    def path(self) -> Path:
        return self.out / f"{self.label}-edge.strace"

    def stop(self, objects: int) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)
        lines = self.path.read_text().splitlines()
        # The last line: "100.00  seconds  usecs/call  calls  [errors]  total".
        total = next((l.split() for l in lines if l.rstrip().endswith("total")), [])
        calls = int(total[3]) if len(total) > 4 and total[3].isdigit() else 0
        print(f"\n### strace -c: {self.label}, edge ({calls:,} calls, {calls / max(1, objects):.1f} per object)\n```\n"
              + "\n".join(lines[:25] + lines[-2:]) + "\n```", flush=True)


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
    weed_cpu0 = cpu_seconds(weed.proc.pid)
    t = time.monotonic()
    proc = subprocess.Popen([rclone, "copy", str(src), f"bench:{weed.bucket}/rclone-{work.name}", "--transfers", "16",
                             "--s3-no-check-bucket", "--no-traverse", "-q"], env=env)
    # wait4 gives exactly this process's peak RSS and CPU (not every child's, as RUSAGE_CHILDREN would).
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        time.sleep(0.02)
    seconds = time.monotonic() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    weed_cpu = cpu_seconds(weed.proc.pid) - weed_cpu0
    if proc.returncode != 0:
        raise SystemExit(f"rclone failed with {proc.returncode}")
    stats = proxy.stats()
    proxy.stop()
    raw = sum(p.stat().st_size for p in files)
    return Result("rclone → SeaweedFS", len(files), raw, seconds, stats["bytes_up"] + stats["bytes_down"],
                  usage.ru_maxrss / 1024, None, usage.ru_utime + usage.ru_stime, None, weed_cpu)


class Profiler:
    """`perf record -g` of the edge and of the core (one recording each, every thread) during a Tributary
    row (--profile DIR); the report lists each process's hottest libraries and symbols (self time), the
    profile issue 14 asks for beside the figures."""

    def __init__(self, out: Path | None, label: str):
        self.out, self.label, self.procs = out, label, {}

    def start(self, **pids: int) -> None:
        if self.out is None:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        for who, pid in pids.items():
            self.procs[who] = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-o", str(self.data(who)), "-p", str(pid)],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def data(self, who: str) -> Path:
        return self.out / f"{self.label}-{who}.perf.data"

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGINT)
        for who, proc in self.procs.items():
            proc.wait(timeout=120)
            parts = []
            for sort, limit in (("dso", 10), ("dso,sym", 25)):
                report = subprocess.run(["perf", "report", "-i", str(self.data(who)), "--stdio", "--no-children", "--sort", sort,
                                         "-g", "none", "--percent-limit", "0.5"], capture_output=True, text=True).stdout
                parts.append("\n".join([line for line in report.splitlines() if line.strip() and not line.startswith("#")][:limit]))
            text = "\n\n".join(parts)
            (self.out / f"{self.label}-{who}.txt").write_text(text + "\n")
            print(f"\n### profile: {self.label}, {who} (self time by library, then by symbol)\n```\n{text}\n```", flush=True)
        self.procs = {}


def stage(files: list[Path], staging: Path) -> Path:
    """A writer's usual pattern: it writes each file beside the inbox on the same filesystem, then renames
    it in (it appears whole). This is the writing, done and synced before the clock starts; each staged
    file is a file of its own (one link), as a writer's would be. The caller renames them in."""
    staging.mkdir()
    for p in files:
        shutil.copyfile(p, staging / p.name)
    os.sync()
    return staging


def run_tributary(name: str, backend, files: list[Path], work: Path, weed=None, profile: Path | None = None, label: str = "",
                  edge_settings: dict[str, int | str] | None = None, strace: Path | None = None) -> Result:
    from conftest import CoreServer
    from edgekit import EdgeAgent, FaultProxy

    core = CoreServer(work / f"core-{name}", backend=backend)
    core.start()
    proxy = FaultProxy(work / f"proxy-{name}", core.port).start()
    site = f"bench-{name}"
    token = core.add_site(site)
    # The agent's own defaults: no test shortcuts (segment age, settle time, retry pacing).
    settings: dict = dict(log_level="notice", settle_ms=None, poll_ms=None, segment_max_age_ms=None, retry_base_ms=None,
                          retry_cap_ms=None, stall_seconds=None, connect_timeout_seconds=None, max_spool_bytes=8 << 30)
    settings.update(edge_settings or {})
    agent = EdgeAgent(work / f"edge-{name}", proxy.url, site, token, **settings)
    agent.start()
    stream_dir = agent.inbox / "readings"
    stream_dir.mkdir()
    staging = stage(files, agent.dir / "staging")
    edge_cpu0, core_cpu0 = cpu_seconds(agent.proc.pid), cpu_seconds(core.proc.pid)
    weed_cpu0 = cpu_seconds(weed.proc.pid) if weed is not None else 0.0
    profiler = Profiler(profile, f"{label}-{name}")
    profiler.start(edge=agent.proc.pid, core=core.proc.pid)
    tracer = Strace(strace, f"{label}-{name}", agent.proc.pid)
    anon = AnonPeak(agent.proc.pid)
    t = time.monotonic()
    for p in files:
        os.rename(staging / p.name, stream_dir / p.name)
    agent.wait_drained(timeout=3600, acked=len(files))
    seconds = time.monotonic() - t
    edge_anon = anon.stop()
    profiler.stop()
    tracer.stop(len(files))
    edge_cpu, core_cpu = cpu_seconds(agent.proc.pid) - edge_cpu0, cpu_seconds(core.proc.pid) - core_cpu0
    weed_cpu = cpu_seconds(weed.proc.pid) - weed_cpu0 if weed is not None else None
    edge_rss, core_rss = agent.peak_rss_kb / 1024, peak_rss_mib(core.proc.pid)
    stats = proxy.stats()
    # The figures are taken; on a loaded machine the agent's orderly stop may take longer than a test allows.
    agent.stop(timeout=30)
    proxy.stop()
    core.stop(timeout=30)
    raw = sum(p.stat().st_size for p in files)
    return Result(f"tributary, {name} lake", len(files), raw, seconds, stats["bytes_up"] + stats["bytes_down"],
                  edge_rss, core_rss, edge_cpu, core_cpu, weed_cpu, client_anon=edge_anon)


def run_backlog(backend, files: list[Path], work: Path, throttle: int, ship_seconds: float,
                edge_settings: dict[str, int | str] | None = None) -> str:
    """The backlog workload: every file offered at once, the link throttled; peak RSS while the spool
    holds the backlog and ships part of it."""
    from conftest import CoreServer
    from edgekit import EdgeAgent, FaultProxy

    core = CoreServer(work / "core-backlog", backend=backend)
    core.start()
    proxy = FaultProxy(work / "proxy-backlog", core.port, "--throttle", str(throttle)).start()
    token = core.add_site("bench-backlog")
    raw = sum(p.stat().st_size for p in files)
    settings: dict = dict(log_level="notice", settle_ms=None, poll_ms=None, segment_max_age_ms=None, retry_base_ms=None,
                          retry_cap_ms=None, stall_seconds=None, connect_timeout_seconds=None,
                          max_spool_bytes=raw + (2 << 30))
    settings.update(edge_settings or {})
    agent = EdgeAgent(work / "edge-backlog", proxy.url, "bench-backlog", token, **settings)
    agent.start()
    stream_dir = agent.inbox / "mixed"
    stream_dir.mkdir()
    # Generated for this run alone, on the spool's filesystem: each file is renamed in as a writer would
    # (one name each, so the edge may link it rather than copy it).
    os.sync()
    t = time.monotonic()
    for p in files:
        os.rename(p, stream_dir / p.name)
    deadline = t + 1800
    while time.monotonic() < deadline:
        counters = agent.status()["counters"]
        if counters.get("accepted_objects", 0) >= len(files):
            break
        time.sleep(0.5)
    else:
        raise SystemExit("backlog: the edge did not accept every file in 30 minutes")
    accepted_s = time.monotonic() - t
    rss_accepted = agent.peak_rss_kb / 1024
    time.sleep(ship_seconds)
    status = agent.status()
    edge_rss, core_rss = agent.peak_rss_kb / 1024, peak_rss_mib(core.proc.pid)
    stats = proxy.stats()
    agent.stop()
    proxy.stop()
    core.stop()
    shipped = status["counters"].get("acked_bytes", 0)
    return "\n".join([
        f"\n## backlog: {len(files):,} mixed files, {raw / 1e9:,.2f} GB, link throttled to {throttle / 1e6:.1f} MB/s a connection",
        "| run | accepted into the spool after s | edge peak RSS MiB, backlog accepted | edge peak RSS MiB, after shipping | "
        "core peak RSS MiB | shipped in the window | wire bytes up |",
        "|---|---|---|---|---|---|---|",
        f"| tributary, fs lake | {accepted_s:.1f} | {rss_accepted:.1f} | {edge_rss:.1f} | {core_rss:.1f} | "
        f"{shipped / 1e6:,.1f} MB in {ship_seconds:.0f} s | {stats['bytes_up'] / 1e6:,.1f} MB |"])


def tar_zstd_ratio(src: Path) -> float:
    tar = subprocess.run(["tar", "-C", str(src), "-cf", "-", "."], capture_output=True, check=True).stdout
    z = subprocess.run(["zstd", "-19", "-q", "-c"], input=tar, capture_output=True, check=True).stdout
    raw = sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    return len(z) / raw


def table(workload: str, results: list[Result], reference: float | None) -> str:
    base = results[0]

    def opt(v: float | None, fmt: str = "{:.1f}") -> str:
        return "—" if v is None else fmt.format(v)

    lines = [f"\n## {workload}: {base.files:,} files, {base.raw / 1e6:,.1f} MB",
             "| run | objects/s | MB/s | × rclone | wire ÷ raw | client RSS MiB (× rclone) | core RSS MiB | client CPU s | core CPU s | "
             "CPU s per GB, all ours (× rclone) | SeaweedFS CPU s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    base_cpu = base.client_cpu
    for r in results:
        ops = r.files / r.seconds
        mbs = r.raw / r.seconds / 1e6
        ratio = base.seconds / r.seconds
        ours = r.client_cpu + (r.core_cpu or 0.0)
        per_gb = ours / (r.raw / 1e9)
        lines.append(
            f"| {r.name} | {ops:,.{0 if ops >= 10 else 2}f} | {mbs:,.1f} | {ratio:.2f} | {r.wire / r.raw:.3f} | "
            f"{r.client_rss:.1f} ({r.client_rss / base.client_rss:.2f}) | {opt(r.core_rss)} | {r.client_cpu:.1f} | {opt(r.core_cpu)} | "
            f"{per_gb:,.0f} ({ours / base_cpu if base_cpu > 0 else float('nan'):.2f}) | {opt(r.server_cpu)} |")
    if reference is not None:
        lines.append(f"| reference: `tar \\| zstd -19` | | | | {reference:.3f} | | | | | | |")
    for r in results:
        if r.client_anon is not None:
            lines.append(f"\n{r.name}: edge {r.client_cpu / r.files * 1e6:,.0f} µs CPU per object, core "
                         f"{(r.core_cpu or 0.0) / r.files * 1e6:,.0f} µs per object; edge peak RssAnon {r.client_anon:.1f} MiB "
                         f"(of VmHWM {r.client_rss:.1f} MiB)")
    if not base.name.startswith("rclone"):
        lines.append("\n(no rclone row: the × columns compare with the first row)")
    return "\n".join(lines)


def edge_from_deb(deb: Path, work: Path) -> Path:
    root = work / "edge-deb"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    found = [p for p in root.rglob("tributary-edge") if p.is_file() and os.access(p, os.X_OK)]
    if not found:
        raise SystemExit(f"{deb} holds no tributary-edge binary")
    return found[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=20000, help="small files to generate (default 20000)")
    ap.add_argument("--large-mib", type=int, default=1024, help="size of the large file (default 1024)")
    ap.add_argument("--dir", "--data", dest="data", type=Path, help="a directory of real files for the small workload")
    ap.add_argument("--quick", action="store_true", help="smoke run: 500 small files, a 32 MiB file")
    ap.add_argument("--bin-dir", type=Path, help="where tributary-core/-edge/-faultproxy are (default: the release build)")
    ap.add_argument("--edge-bin", type=Path, help="a packaged tributary-edge binary to run instead of the built one")
    ap.add_argument("--edge-deb", type=Path, help="scripts/package.sh's edge .deb: its binary is run instead of the built one")
    ap.add_argument("--skip-s3", action="store_true", help="only rclone and the filesystem lake")
    ap.add_argument("--skip-small", action="store_true")
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--backlog-gib", type=float, default=5.0, help="size of the backlog workload in GiB (default 5; 0 skips it)")
    ap.add_argument("--backlog-throttle", type=int, default=2_000_000, help="the backlog's link, bytes/s a connection (default 2 MB/s)")
    ap.add_argument("--backlog-seconds", type=float, default=60.0, help="how long the backlog ships after it is accepted (default 60)")
    ap.add_argument("--edge-set", action="append", default=[], metavar="KEY=VALUE",
                    help="an [edge] setting other than the product default for the Tributary rows (repeatable; printed)")
    ap.add_argument("--profile", type=Path, help="perf record the edge and the core in each Tributary row; data and reports here")
    ap.add_argument("--strace", type=Path, help="strace -c -f the edge in each Tributary row (slows it); reports here")
    ap.add_argument("--skip-rclone", action="store_true", help="no rclone row (edge before/after comparisons)")
    ap.add_argument("--skip-reference", action="store_true", help="skip the `tar | zstd -19` reference (a minute or two)")
    args = ap.parse_args()
    edge_settings: dict[str, int | str] = {}
    for kv in args.edge_set:
        k, _, v = kv.partition("=")
        edge_settings[k.strip()] = int(v) if v.strip().lstrip("-").isdigit() else v.strip()
    if args.quick:
        args.files, args.large_mib = min(args.files, 500), min(args.large_mib, 32)
        args.backlog_gib, args.backlog_seconds = min(args.backlog_gib, 0.25), min(args.backlog_seconds, 10.0)

    work = Path(tempfile.mkdtemp(prefix="tributary-bench-"))
    bin_dir = args.bin_dir or release_bin_dir()
    edge = args.edge_bin or (edge_from_deb(args.edge_deb, work) if args.edge_deb else bin_dir / "tributary-edge")
    os.environ["TRIBUTARY_CORE_BIN"] = str(bin_dir / "tributary-core")
    os.environ["TRIBUTARY_EDGE_BIN"] = str(edge)
    os.environ["TRIBUTARY_FAULTPROXY_BIN"] = str(bin_dir / "tributary-faultproxy")
    rclone = None if args.skip_rclone else ensure_rclone()

    from backends import Postgres, SeaweedFS
    from backend_pairs import FsSqlite, S3Postgres
    from edgekit import FaultProxy

    weed = SeaweedFS().start() if rclone or not args.skip_s3 else None
    pg = None if args.skip_s3 else Postgres().start()
    out = []
    try:
        workloads = []
        if not args.skip_small:
            workloads.append(("small files", lambda: make_small(work / "small", args.files, args.data), True))
        if not args.skip_large:
            workloads.append(("one large file", lambda: make_large(work / "large", args.large_mib), False))
        for label, make, with_reference in workloads:
            files = make()
            src = files[0].parent
            run_dir = work / label.replace(" ", "-")
            results = [run_rclone(rclone, weed, files, src, run_dir, FaultProxy)] if rclone else []
            tag = label.replace(" ", "-")
            results.append(run_tributary("fs", FsSqlite(), files, run_dir, profile=args.profile, label=tag,
                                           edge_settings=edge_settings, strace=args.strace))
            if pg is not None:
                results.append(run_tributary("s3", S3Postgres(pg, weed), files, run_dir, weed=weed, profile=args.profile, label=tag,
                                           edge_settings=edge_settings, strace=args.strace))
            out.append(table(label, results, tar_zstd_ratio(src) if with_reference and not args.skip_reference else None))
            print(out[-1], flush=True)
            shutil.rmtree(src, ignore_errors=True)
        if args.backlog_gib > 0:
            files = make_backlog(work / "backlog", args.backlog_gib)
            out.append(run_backlog(FsSqlite(), files, work / "backlog-run", args.backlog_throttle, args.backlog_seconds,
                                   edge_settings=edge_settings))
            print(out[-1], flush=True)
            shutil.rmtree(work / "backlog", ignore_errors=True)
    finally:
        if weed is not None:
            weed.cleanup()
        if pg is not None:
            pg.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n(core, faultproxy: {bin_dir}; edge: {edge}; {os.cpu_count()} cores; every client through a fault-free "
          "tributary-faultproxy on loopback; × rclone: its time ÷ ours, and for RSS and CPU ours ÷ its; "
          "client = the edge agent or rclone; SeaweedFS CPU: the S3 server's, during the rclone and S3-lake rows)")
    if edge_settings:
        print(f"(edge settings other than the product defaults: {edge_settings})")


if __name__ == "__main__":
    main()
