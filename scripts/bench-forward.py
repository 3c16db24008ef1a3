#!/usr/bin/env python3
"""Forwarding throughput and lag (issue 12, docs/REPLICATION.md "Measured").

Two real cores on loopback (filesystem lake + SQLite each). Core A is filled with `--uploads`
segment uploads of `--objects` random objects of `--size` bytes each; then:

1. throughput: A is restarted with --forward-url B, and the time until B's catalog holds every
   object is measured. Beside it, in the same run, rclone copies A's lake directory (the same
   bytes) to a directory on the same filesystem as B's lake (`rclone copy --transfers 4`).
2. lag: while a writer commits one upload every `--interval` seconds to A for `--seconds`
   seconds, A's tributary_forward_lag_seconds is sampled every 0.5 s; max and median printed.

Usage: TRIBUTARY_CORE_BIN=.build/release/tributary-core scripts/bench-forward.py [--uploads 40 ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "Tests" / "integration"))

from conftest import CoreServer, Entry, make_segment, wait_until  # noqa: E402
from fleetkit import metrics  # noqa: E402


def fill(client, uploads: int, objects: int, size: int, tag: str) -> int:
    total = 0
    for u in range(uploads):
        entries = [Entry("bench", f"{tag}-{u:04d}-{i:03d}.bin", os.urandom(size)) for i in range(objects)]
        client.upload_segment(make_segment(entries), chunk=8 << 20)
        total += objects * size
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--uploads", type=int, default=40)
    ap.add_argument("--objects", type=int, default=10)
    ap.add_argument("--size", type=int, default=256 << 10)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--interval", type=float, default=0.5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-forward-"))
    b = CoreServer(work / "b").start()
    out = b.cli("sites", "add", "core-a", "--relay").stdout
    token = [l for l in out.splitlines() if l.strip()][-1].strip()
    a = CoreServer(work / "a", args=["--core-id", "core-a"]).start()
    try:
        site = a.new_site("bench")
        n = args.uploads * args.objects
        total = fill(site, args.uploads, args.objects, args.size, "fill")
        print(f"lake of A: {n} objects in {args.uploads} uploads, {total / 1e6:.1f} MB")

        # rclone: the same bytes, lake dir to a dir beside B's lake.
        dst = work / "b" / "rclone-copy"
        t0 = time.monotonic()
        subprocess.run(["rclone", "copy", "--transfers", "4", "--exclude", "_tributary/**", str(a.lake), str(dst)],
                       check=True, capture_output=True)
        rclone_s = time.monotonic() - t0

        a.stop()
        a.args += ["--forward-url", b.base, "--forward-token", token]
        t0 = time.monotonic()
        a.start()
        wait_until(lambda: b.count("SELECT COUNT(*) FROM objects WHERE site = ?", (site.site,)) == n, 600, 0.05,
                   what="every object forwarded")
        fwd_s = time.monotonic() - t0
        print(f"forward (tus, have-check, segments, receipts, catalog at B): {fwd_s:.2f} s  "
              f"{total / fwd_s / 1e6:.1f} MB/s  {n / fwd_s:.0f} objects/s  {args.uploads / fwd_s:.1f} uploads/s")
        print(f"rclone copy --transfers 4 (files only, no catalog, no dedup): {rclone_s:.2f} s  "
              f"{total / rclone_s / 1e6:.1f} MB/s  {n / rclone_s:.0f} objects/s")

        wait_until(lambda: metrics(a).value("tributary_forward_lag_seconds", target=b.base) == 0, 60, what="caught up")
        # Steady ingest: one upload per interval; sample the lag.
        stop = threading.Event()
        written = [0]

        def writer():
            while not stop.is_set():
                fill(site, 1, args.objects, 16 << 10, f"steady{written[0]}")
                written[0] += 1
                stop.wait(args.interval)

        th = threading.Thread(target=writer, daemon=True)
        th.start()
        samples = []
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            samples.append(metrics(a).value("tributary_forward_lag_seconds", target=b.base) or 0.0)
            time.sleep(0.5)
        stop.set()
        th.join()
        print(f"steady ingest: {written[0]} uploads of {args.objects} x 16 KiB in {args.seconds:.0f} s; "
              f"forward lag max {max(samples):.1f} s, median {statistics.median(samples):.1f} s ({len(samples)} samples)")
        print("lag samples (s):", " ".join(f"{s:.1f}" for s in samples))
    finally:
        for c in (a, b):
            if c.alive:
                c.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
