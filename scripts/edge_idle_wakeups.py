#!/usr/bin/env python3
"""Measures how often an idle tributary-edge wakes up (issue 13): a core and an agent with an empty
inbox, link up; after a warm-up, the agent's voluntary + involuntary context switches (summed over
/proc/PID/task/*/status, threads that ended included via /proc/PID/status of the process) over
SECONDS are printed per second.

    .venv/bin/python scripts/edge_idle_wakeups.py [SECONDS]     (TRIBUTARY_CORE_BIN / TRIBUTARY_EDGE_BIN as for the tests)
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Tests" / "integration"))
from conftest import CoreServer  # noqa: E402
from edgekit import EdgeAgent  # noqa: E402


def switches(pid: int) -> tuple[int, int, int]:
    vol = invol = 0
    tasks = list(Path(f"/proc/{pid}/task").iterdir())
    for t in tasks:
        try:
            for line in (t / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    vol += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    invol += int(line.split()[1])
        except FileNotFoundError:
            pass
    return vol, invol, len(tasks)


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
        v0, i0, _ = switches(pid)
        t0 = time.monotonic()
        time.sleep(seconds)
        v1, i1, threads = switches(pid)
        dt = time.monotonic() - t0
        print(f"idle {dt:.0f} s: {(v1 - v0) / dt:.1f} voluntary + {(i1 - i0) / dt:.1f} involuntary context switches/s "
              f"({threads} threads now)")
        agent.stop()
    finally:
        core.stop()


if __name__ == "__main__":
    main()
