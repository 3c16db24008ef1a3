#!/usr/bin/env python3
"""Benchmark: shipping many small sensor files, tributary-edge vs. a per-file tus upload with curl.

    .venv/bin/python scripts/bench-edge.py [--files 2000] [--size 2048]

Starts a core and a (fault-free) tributary-faultproxy in front of it to count the bytes that cross the
"link", then ships the same generated CSV files twice:
  1. tributary-edge: inbox → spool → zstd segments → tus, with have-check;
  2. reference: one tus upload per file with curl (POST + PATCH with Upload-Checksum), sequential —
     what a plain tus client (or a cron job around curl) does.
Prints objects/s, bytes on the wire, requests, and the agent's peak RSS beside the reference.
Uses the debug build unless TRIBUTARY_BIN_DIR points elsewhere (build with -c release for real figures).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    sys.exit(f"bench: timed out waiting for {what}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--size", type=int, default=2048, help="approximate bytes per file")
    ap.add_argument("--clips", type=int, default=0, help="also this many incompressible 4 MiB objects (sent alone, bulk lane)")
    args = ap.parse_args()
    bindir = Path(os.environ.get("TRIBUTARY_BIN_DIR") or subprocess.run(
        ["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip())
    work = Path(tempfile.mkdtemp(prefix="tributary-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        port, pport = free_port(), free_port()
        procs.append(subprocess.Popen([bindir / "tributary-core", "serve", "--data-dir", work / "core", "--listen",
                                       f"127.0.0.1:{port}"], stdout=open(work / "core.log", "wb"), stderr=subprocess.STDOUT))
        wait(lambda: subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/healthz"], capture_output=True).returncode == 0, 30, "core")
        stats = work / "proxy.json"
        procs.append(subprocess.Popen([bindir / "tributary-faultproxy", "--listen", f"127.0.0.1:{pport}", "--target",
                                       f"127.0.0.1:{port}", "--stats", stats], stdout=open(work / "proxy.log", "wb"), stderr=subprocess.STDOUT))
        def proxy_stats():
            time.sleep(0.7)
            return json.loads(stats.read_text())

        rng = random.Random(1)
        files = []
        for i in range(args.files):
            rows, body = [], 0
            while body < args.size:
                r = f"2026-11-21T10:{i % 60:02d}:{len(rows) % 60:02d}Z,sensor-{i % 17},{rng.gauss(20, 3):.4f}\n"
                rows.append(r)
                body += len(r)
            files.append((f"r{i:05d}.csv", ("ts,sensor,value\n" + "".join(rows)).encode()))
        clips = [(f"clip{i}.bin", rng.randbytes(4 << 20)) for i in range(args.clips)]
        raw = sum(len(d) for _, d in files)
        clip_raw = sum(len(d) for _, d in clips)

        def add_site(name):
            out = subprocess.run([bindir / "tributary-core", "sites", "add", name, "--data-dir", work / "core"],
                                 capture_output=True, text=True, check=True).stdout
            return out.strip().splitlines()[-1]

        # 1. tributary-edge
        token = add_site("bench-edge")
        inbox, spool = work / "edge/inbox", work / "edge/spool"
        (inbox / "sensors").mkdir(parents=True)
        stage = work / "stage"
        stage.mkdir()
        for name, data in files + clips:
            (stage / name).write_bytes(data)
        before = proxy_stats()
        env = dict(os.environ, TRIBUTARY_SEGMENT_MAX_AGE_MS="200")
        edge = subprocess.Popen([bindir / "tributary-edge", "run", "--site", "bench-edge", "--token", token, "--core",
                                 f"http://127.0.0.1:{pport}", "--inbox", inbox, "--spool", spool],
                                stdout=open(work / "edge.log", "wb"), stderr=subprocess.STDOUT, env=env)
        procs.append(edge)
        wait(lambda: (spool / "agent-status.json").exists(), 30, "edge agent")
        peak = 0
        t0 = time.monotonic()
        for name, _ in clips + files:
            os.rename(stage / name, inbox / "sensors" / name)
        def delivered():
            nonlocal peak
            for line in Path(f"/proc/{edge.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
            s = json.loads(subprocess.run([bindir / "tributary-edge", "status", "--json", "--spool", spool],
                                          capture_output=True, text=True, check=True).stdout)
            delivered.goodput = s.get("goodput")
            return s["counters"].get("acked_objects", 0) >= len(files) + len(clips)
        wait(delivered, 600, "edge delivery")
        edge_s = time.monotonic() - t0
        after = proxy_stats()
        edge_up = after["bytes_up"] - before["bytes_up"]
        edge_conns = after["connections"] - before["connections"]
        edge.send_signal(signal.SIGTERM)
        edge.wait(timeout=30)

        # 2. reference: one tus upload per file with curl
        token2 = add_site("bench-curl")
        before = proxy_stats()
        t0 = time.monotonic()
        for name, data in files:
            path = work / "one"
            path.write_bytes(data)
            md = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                          [("name", name), ("stream", "sensors"), ("sha256", hashlib.sha256(data).hexdigest())])
            hdr = subprocess.run(["curl", "-sf", "-D", "-", "-o", "/dev/null", "-X", "POST", f"http://127.0.0.1:{pport}/v1/uploads",
                                  "-H", f"Authorization: Bearer {token2}", "-H", "Tus-Resumable: 1.0.0",
                                  "-H", f"Upload-Length: {len(data)}", "-H", f"Upload-Metadata: {md}"],
                                 capture_output=True, text=True, check=True).stdout
            loc = [l.split(":", 1)[1].strip() for l in hdr.splitlines() if l.lower().startswith("location:")][0]
            digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
            subprocess.run(["curl", "-sf", "-o", "/dev/null", "-X", "PATCH", f"http://127.0.0.1:{pport}{loc}",
                            "-H", f"Authorization: Bearer {token2}", "-H", "Tus-Resumable: 1.0.0",
                            "-H", "Content-Type: application/offset+octet-stream", "-H", "Upload-Offset: 0",
                            "-H", f"Upload-Checksum: sha256 {digest}", "--data-binary", f"@{path}"], check=True)
        curl_s = time.monotonic() - t0
        after = proxy_stats()
        curl_up = after["bytes_up"] - before["bytes_up"]
        curl_conns = after["connections"] - before["connections"]

        print(f"{len(files)} CSV files, {raw} bytes in all" + (f", and {len(clips)} incompressible clips of 4 MiB ({clip_raw} bytes; "
              "the curl reference sends the CSV files only)" if clips else "") + " (debug build unless TRIBUTARY_BIN_DIR says otherwise)")
        if getattr(delivered, "goodput", None):
            g = delivered.goodput
            print(f"agent goodput (bytes the core kept ÷ PATCH bytes sent): {g.get('ratio')} ({g.get('good_bytes')} of {g.get('wire_bytes')})")
        print(f"{'':28}{'objects/s':>12}{'bytes on the wire':>20}{'wire/raw':>10}{'connections':>13}")
        print(f"{'tributary-edge (segments)':28}{(len(files) + len(clips)) / edge_s:12.0f}{edge_up:20d}{edge_up / (raw + clip_raw):10.2f}{edge_conns:13d}"
              f"   peak RSS {peak / 1024:.1f} MB")
        print(f"{'curl, one tus upload each':28}{len(files) / curl_s:12.0f}{curl_up:20d}{curl_up / raw:10.2f}{curl_conns:13d}")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
