#!/usr/bin/env python3
"""The edge's intake alone (docs/PERFORMANCE.md, "Edge intake"): files renamed into the inbox of an agent whose
link is down, timed until every one is accepted (journaled, durable) and gone from the inbox.

    .venv/bin/python scripts/bench-intake.py [--files 5000] [--large-mib 256] [--rounds 2]
        [--edge NAME=PATH ...] [--core-bin PATH]

Each file is first written into a staging directory beside the inbox (same filesystem) and synced, before the
clock starts, then renamed in — an atomic writer's pattern. Several `--edge NAME=PATH` binaries (default: the
debug build) run in alternation, round after round, so a loaded machine disturbs them alike. Printed per run:
wall time, files/s and MB/s, the edge's CPU seconds (the figure to compare on a shared machine), how many were
taken by hard link (`accepted_linked`), and the edge's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "Tests" / "integration"))


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--large-mib", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--edge", action="append", default=[], metavar="NAME=PATH", help="an edge binary (repeatable)")
    args = ap.parse_args()
    edges = {n: Path(p).resolve() for n, _, p in (e.partition("=") for e in args.edge)} or {
        "debug": ROOT / ".build" / "debug" / "tributary-edge"}
    import bench
    from conftest import wait_until
    from edgekit import EdgeAgent

    work = Path(tempfile.mkdtemp(prefix="tributary-intake-"))
    try:
        workloads = [("small", bench.make_small(work / "small", args.files, None)),
                     ("large", bench.make_large(work / "large", args.large_mib))]
        for r in range(args.rounds):
            for name, binary in edges.items():
                os.environ["TRIBUTARY_EDGE_BIN"] = str(binary)
                for label, files in workloads:
                    d = work / f"{name}-{label}-{r}"
                    agent = EdgeAgent(d, "http://127.0.0.1:9", "bench", "t" * 32, log_level="notice", settle_ms=None,
                                      poll_ms=None, max_spool_bytes=8 << 30)
                    agent.start()
                    inbox = agent.inbox / "readings"
                    inbox.mkdir()
                    staging = bench.stage(files, agent.dir / "staging")
                    time.sleep(1)  # the inbox directory watched before the first rename
                    cpu0 = cpu_seconds(agent.proc.pid)
                    t = time.monotonic()
                    for p in files:
                        os.rename(staging / p.name, inbox / p.name)
                    wait_until(lambda: agent.status()["counters"].get("accepted_objects", 0) >= len(files)
                               and not any(inbox.iterdir()), 600, 0.25, what="every file accepted")
                    seconds = time.monotonic() - t
                    cpu = cpu_seconds(agent.proc.pid) - cpu0
                    raw = sum(p.stat().st_size for p in files)
                    linked = agent.status()["counters"].get("accepted_linked", 0)
                    print(f"{name:8} {label:5} round {r}: {len(files)} files, {raw / 1e6:.1f} MB accepted in {seconds:.2f} s "
                          f"({len(files) / seconds:,.0f} files/s, {raw / seconds / 1e6:.1f} MB/s), edge CPU {cpu:.2f} s, "
                          f"linked {linked}, peak RSS {agent.peak_rss_kb / 1024:.1f} MiB", flush=True)
                    agent.stop(timeout=30)
                    shutil.rmtree(d, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
