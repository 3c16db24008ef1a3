#!/usr/bin/env python3
"""Small sensor files on an idle link (issue 14): latency of a burst and wire bytes, with and without
per-stream zstd dictionaries, at several zstd levels, against `tar | zstd -19` of the same files.

    .venv/bin/python scripts/bench-dict.py [--files 730] [--levels 19] [--skip-old] [--no-dict] [--data DIR]
                                           [--throttle BYTES_PER_SEC] [--skip-trickle] [--edge-set KEY=VALUE ...]
                                           [--warmup N]

Configurations: the defaults before compact manifests (`old-defaults`: manifest version 1, every segment at
zstd level 3), the product defaults, and the defaults with `zstd_level` set to each of --levels.
For each configuration a fresh core, a fault-free tributary-faultproxy (its counters give the bytes on
the wire) and an edge with the product's defaults. The edge runs idle; then two bursts of `--files`
files (day 1 and day 2 of hourly readings, ~6 KB a file, one per station per day, or the files of
DIR split in two) are each `put` (returns when all are durable in the spool) and timed until the
core has acknowledged all of them. Burst 1 is one `put` of all files (one large segment on an idle
link: the latency figure; it also trains the stream's dictionary); burst 2 is a trickle, 5 files a `put`
every 0.3 s (small segments, where a dictionary matters; its latency is counted from the last put).
`--throttle` caps the proxy's rate per connection and direction (the fault proxy's token bucket): a slow
link, where the edge's measured link rate should pick a higher zstd level (`LevelPolicy`).
`--edge-set KEY=VALUE` sets an edge configuration key in every configuration (an int when it parses as one).
`--warmup N` first ships N files of another day, not counted: the edge has then measured its link and its
compressor, as an agent that has been running for a while has (`LevelPolicy` keeps the base level until then).
Uses the debug build unless TRIBUTARY_CORE_BIN names another core (the edge and the fault proxy are then
taken from the same directory) or TRIBUTARY_EDGE_BIN / TRIBUTARY_FAULTPROXY_BIN name them, as for the
integration tests (Tests/integration/edgekit.py), e.g. TRIBUTARY_CORE_BIN=.build/release/tributary-core.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "integration"))
from conftest import CoreServer  # noqa: E402
from edgekit import EdgeAgent, FaultProxy  # noqa: E402


def station_day(rng: random.Random, station: int, day: int) -> bytes:
    """One station's hourly readings for one day (~6 KB): smooth series, fixed decimals."""
    lines = ["station_id,time_utc,temperature_c,dew_point_c,relative_humidity_pct,pressure_hpa,sea_level_pressure_hpa,"
             "wind_speed_ms,wind_direction_deg,gust_ms,precipitation_mm,visibility_m,cloud_cover_okta,quality_flag"]
    t = 8 + 6 * rng.random() + station % 5
    p = 1005 + 15 * rng.random()
    for h in range(24):
        t += rng.gauss(0, 0.6) + (0.4 if 6 <= h < 14 else -0.3)
        p += rng.gauss(0, 0.3)
        dew = t - 2 - 4 * rng.random()
        rh = max(20, min(100, 100 - 5 * (t - dew)))
        ws = abs(rng.gauss(3.5, 1.8))
        lines.append(
            f"WMO{10000 + station:05d},2026-03-{day:02d}T{h:02d}:00:00Z,{t:.1f},{dew:.1f},{rh:.0f},{p:.1f},{p + 8.4:.1f},"
            f"{ws:.1f},{int(rng.uniform(180, 290)) // 10 * 10},{ws * 1.6:.1f},{max(0.0, rng.gauss(-0.5, 0.6)):.1f},"
            f"{int(rng.uniform(8000, 40000)) // 100 * 100},{rng.randint(0, 8)},ok")
    return ("\n".join(lines) + "\n").encode() * 2  # two sensors' blocks of the same layout, ~6 KB


def make_burst(dst: Path, n: int, day: int, seed: int) -> list[Path]:
    dst.mkdir(parents=True)
    rng = random.Random(seed)
    out = []
    for s in range(n):
        p = dst / f"WMO{10000 + s:05d}-2026-03-{day:02d}.csv"
        p.write_bytes(station_day(rng, s, day))
        out.append(p)
    return out


def tar_zstd(files: list[Path]) -> int:
    tar = subprocess.run(["tar", "-C", str(files[0].parent), "-cf", "-", *[p.name for p in files]],
                         capture_output=True, check=True).stdout
    return len(subprocess.run(["zstd", "-19", "-q", "-c"], input=tar, capture_output=True, check=True).stdout)


TRICKLE = 5


def acked(agent: EdgeAgent) -> int:
    return agent.status()["counters"].get("acked_objects", 0)


def run(name: str, settings: dict, bursts: list[list[Path]], work: Path, throttle: int = 0,
        warmup: list[Path] | None = None) -> list[dict]:
    core = CoreServer(work / f"core-{name}").start()
    proxy = FaultProxy(work / f"proxy-{name}", core.port, *(["--throttle", str(throttle)] if throttle else [])).start()
    site = core.new_site("bench")
    base = dict(log_level="notice", settle_ms=None, poll_ms=None, segment_max_age_ms=None, retry_base_ms=None,
                retry_cap_ms=None, stall_seconds=None, connect_timeout_seconds=None, heartbeat_seconds=3600)
    agent = EdgeAgent(work / f"edge-{name}", proxy.url, site.site, site.token, **{**base, **settings})
    agent.start()
    time.sleep(2)  # idle: first contact made
    out = []
    done = 0
    if warmup:
        agent.put(*warmup, stream="weather")
        done += len(warmup)
        while acked(agent) < done:
            time.sleep(0.05)
    for i, files in enumerate(bursts, 1):
        before = proxy.stats()
        t0 = time.monotonic()
        if i == 1:
            agent.put(*files, stream="weather")
        else:
            # A trickle: a few files at a time, the link idle in between (small segments).
            for k in range(0, len(files), TRICKLE):
                agent.put(*files[k:k + TRICKLE], stream="weather")
                time.sleep(0.3)
        durable = time.monotonic()
        done += len(files)
        while acked(agent) < done:
            time.sleep(0.02)
        landed = time.monotonic()
        time.sleep(1.2)  # the proxy rewrites its stats every 0.5 s
        after = proxy.stats()
        raw = sum(p.stat().st_size for p in files)
        out.append({"config": name, "burst": i, "files": len(files), "raw": raw,
                    "put_s": durable - t0, "latency_s": landed - durable,
                    "up": after["bytes_up"] - before["bytes_up"], "down": after["bytes_down"] - before["bytes_down"],
                    "ref": tar_zstd(files),
                    # What `tar | zstd -19` would send if it shipped each put's files as they came.
                    "ref_put": tar_zstd(files) if i == 1 else sum(tar_zstd(files[k:k + TRICKLE])
                                                               for k in range(0, len(files), TRICKLE))})
    agent.stop()
    proxy.stop()
    core.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=730)
    ap.add_argument("--levels", default="19", help="also run with zstd_level set to each of these (empty: none)")
    ap.add_argument("--skip-old", action="store_true", help="skip the run with the defaults before compact manifests")
    ap.add_argument("--no-dict", action="store_true", help="also run with dictionaries off")
    ap.add_argument("--data", type=Path)
    ap.add_argument("--work", type=Path, help="keep the cores', proxies' and edges' directories (logs) here")
    ap.add_argument("--throttle", type=int, default=0, help="the proxy's rate cap, bytes/s per connection and direction")
    ap.add_argument("--skip-trickle", action="store_true", help="only burst 1 (one put of all files)")
    ap.add_argument("--warmup", type=int, default=0, help="ship this many files first, not counted")
    ap.add_argument("--edge-set", action="append", default=[], metavar="KEY=VALUE", help="an edge key for every config")
    args = ap.parse_args()
    extra = {}
    for kv in args.edge_set:
        k, _, v = kv.partition("=")
        extra[k] = int(v) if v.lstrip("-").isdigit() else v
    work = args.work or Path(tempfile.mkdtemp(prefix="tributary-dict-"))
    if args.data:
        all_files = sorted(p for p in args.data.rglob("*") if p.is_file())
        half = len(all_files) // 2
        bursts = [all_files[:half], all_files[half:]]
    else:
        bursts = [make_burst(work / "day1", args.files, 1, 1), make_burst(work / "day2", args.files, 2, 2)]
    if args.skip_trickle:
        bursts = bursts[:1]
    warmup = make_burst(work / "day0", args.warmup, 28, 3) if args.warmup else None
    rows = []
    levels = [int(x) for x in args.levels.split(",") if x]
    # The defaults before compact manifests and the small-segment level (same binaries, same code path).
    if not args.skip_old:
        rows += run("old-defaults", {**extra, "zstd_level": 3, "zstd_small_segment_level": 3, "segment_manifest_version": 1},
                    bursts, work, args.throttle, warmup)
    rows += run("defaults", extra, bursts, work, args.throttle, warmup)
    if args.no_dict:
        rows += run("no-dict", {**extra, "dictionary_bytes": 0}, bursts, work, args.throttle, warmup)
    for level in levels:
        rows += run(f"level-{level}", {**extra, "zstd_level": level}, bursts, work, args.throttle, warmup)
    print(f"\n{'config':<12} {'burst':>5} {'files':>5} {'raw':>9} {'put s':>6} {'latency s':>9} {'up':>8} {'up/raw':>7} "
          f"{'down/raw':>8} {'tar|zstd-19':>11} {'up/ref':>6} {'per-put ref':>11} {'up/that':>7}")
    for r in rows:
        print(f"{r['config']:<12} {r['burst']:>5} {r['files']:>5} {r['raw']:>9} {r['put_s']:>6.2f} {r['latency_s']:>9.2f} "
              f"{r['up']:>8} {r['up'] / r['raw']:>7.3f} {r['down'] / r['raw']:>8.4f} {r['ref'] / r['raw']:>11.3f} "
              f"{r['up'] / r['ref']:>6.2f} {r['ref_put'] / r['raw']:>11.3f} {r['up'] / r['ref_put']:>7.2f}")


if __name__ == "__main__":
    main()
