#!/usr/bin/env python3
"""Measures how often an idle tributary-edge wakes up (issue 13): a core and an agent with the
defaults, an empty inbox, link up; after a warm-up, the agent's voluntary and involuntary context
switches over SECONDS, per second, in total and per thread (from /proc/PID/task/TID/status, so the
thread that wakes is visible; threads that ended within the window are not counted there, so that
total is a lower bound). Where `perf` is installed and allowed, `perf stat -e context-switches`
over the same window counts every thread, short-lived ones (a journal query's thread) included.

    .venv/bin/python scripts/edge_idle_wakeups.py [SECONDS]     (TRIBUTARY_CORE_BIN / TRIBUTARY_EDGE_BIN as for the tests)
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Tests" / "integration"))
from conftest import CoreServer  # noqa: E402
from edgekit import EdgeAgent  # noqa: E402


def switches(pid: int) -> dict[int, tuple[str, int, int]]:
    """tid → (name, voluntary, involuntary) for every live thread of `pid`."""
    out: dict[int, tuple[str, int, int]] = {}
    for t in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (t / "comm").read_text().strip()
            vol = invol = 0
            for line in (t / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    vol = int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    invol = int(line.split()[1])
            out[int(t.name)] = (name, vol, invol)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    root = Path(tempfile.mkdtemp(prefix="tributary-idle-"))
    core = CoreServer(root / "core").start()
    try:
        site = core.new_site("idle")
        # The agent's defaults (not the tests' fast settings): what a gateway runs.
        agent = EdgeAgent(root / "edge", core.base, site.site, site.token, log_level="info",
                          settle_ms=2000, poll_ms=1000, segment_max_age_ms=5000, retry_base_ms=500, retry_cap_ms=60000,
                          stall_seconds=15, connect_timeout_seconds=10)
        agent.start()
        time.sleep(5)  # warm-up: first heartbeat, status file
        pid = agent.proc.pid
        perf = None
        if shutil.which("perf"):
            perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "context-switches", "-p", str(pid), "--", "sleep", str(seconds)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        before = switches(pid)
        t0 = time.monotonic()
        time.sleep(seconds)
        after = switches(pid)
        dt = time.monotonic() - t0
        if perf is not None:
            _, err = perf.communicate()
            counts = [line.split(",")[0] for line in err.splitlines() if ",context-switches" in line]
            if perf.returncode == 0 and counts and counts[0].isdigit():
                print(f"perf stat: {int(counts[0]) / seconds:.2f} context switches/s, every thread of the agent included")
            else:
                print(f"perf stat unavailable here: {err.strip()[:200]}")
        rows = []
        for tid, (name, v1, i1) in after.items():
            _, v0, i0 = before.get(tid, (name, 0, 0))
            rows.append((v1 - v0, i1 - i0, tid, name, tid not in before))
        rows.sort(reverse=True)
        vol = sum(r[0] for r in rows)
        invol = sum(r[1] for r in rows)
        print(f"idle {dt:.0f} s: {vol / dt:.2f} voluntary + {invol / dt:.2f} involuntary context switches/s "
              f"({len(after)} threads now)")
        for v, i, tid, name, new in rows:
            if v or i:
                print(f"  {tid:>8} {name:<16} {v / dt:6.2f} vol/s {i / dt:6.2f} invol/s{'  (started in the window)' if new else ''}")
        agent.stop()
    finally:
        core.stop()


if __name__ == "__main__":
    main()
