#!/usr/bin/env python3
"""Cost of the fleet view (issue 5): heartbeats/s, and the time of GET /v1/sites, the dashboard's
query and /metrics with many sites, on both backend pairs.

    .venv/bin/python scripts/bench-fleet.py [--sites N] [--rounds R] [--clients C] [--bin PATH]

Starts (on 127.0.0.1, in temporary directories, stopped at the end) a PostgreSQL with fsync on, a
SeaweedFS, and one tributary-core per backend pair with a 1 s backlog history step. Registers N
sites; C threads send R heartbeats per site (each carrying 3 streams), which also writes R history
points per site (as many as 1 s steps it took); then times 20 reads of each view. Reference: the same number of `GET /healthz`
(no catalog) in the same run. Every loop is bounded (N×R heartbeats; each request times out after
30 s). The figures are for this machine and build (pass --bin for a release build).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "integration"))

from backend_pairs import FsSqlite, S3Postgres  # noqa: E402
from backends import Postgres, SeaweedFS  # noqa: E402
from conftest import CoreServer  # noqa: E402
from fleetkit import report  # noqa: E402


def timed(n: int, call) -> tuple[float, float]:
    """Median and max milliseconds of n calls."""
    ms = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        ms.append((time.perf_counter() - t) * 1000)
    return statistics.median(ms), max(ms)


def run(name: str, core: CoreServer, sites: int, rounds: int, clients: int) -> None:
    tokens = [core.add_site(f"bench-{i:04d}") for i in range(sites)]
    admin = {"Authorization": f"Bearer {core.admin_token}"}
    sessions = [requests.Session() for _ in range(clients)]

    def beat(i: int) -> None:
        s = sessions[i % clients]
        for r in range(rounds):
            body = report(pending=r, streams={"vibration": (r, r * 1000), "temperature": (0, 0), "alarms": (0, 0)})
            resp = s.post(core.url("/v1/heartbeat"), json=body, headers={"Authorization": f"Bearer {tokens[i]}"}, timeout=30)
            assert resp.status_code == 204, resp.text
    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(beat, range(sites)))
    took = time.perf_counter() - t
    total = sites * rounds
    get = lambda path: requests.get(core.url(path), headers=admin, timeout=30)  # noqa: E731
    body = get("/v1/sites?history=3600")
    points = sum(len(s["backlog_history"]) for s in body.json()["sites"])
    print(f"{name:12} {total} heartbeats from {sites} sites over {clients} clients: {total / took:7.0f} /s "
          f"(a fleet of 100 sites at the default 30 s sends 3.3 /s)")
    for label, path in [("GET /v1/sites", "/v1/sites"), ("GET /v1/sites?history=3600", "/v1/sites?history=3600"),
                        ("GET /metrics", "/metrics"), ("GET /healthz (reference)", "/healthz")]:
        med, worst = timed(20, lambda: get(path))
        size = len(get(path).content)
        print(f"{'':12} {label:28} median {med:7.1f} ms, max {worst:7.1f} ms, {size / 1024:7.1f} KiB")
    print(f"{'':12} ({points} history points in the dashboard's answer)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--bin")
    a = ap.parse_args()
    if a.bin:
        import os
        os.environ["TRIBUTARY_CORE_BIN"] = a.bin
    pg = Postgres(fsync=True).start()
    weed = SeaweedFS().start()
    try:
        with tempfile.TemporaryDirectory(prefix="tributary-bench-fleet-") as tmp:
            for name, pair in [("fs+sqlite", FsSqlite()), ("s3+postgres", S3Postgres(pg, weed))]:
                core = CoreServer(Path(tmp) / name / "data", backend=pair, env={"TRIBUTARY_BACKLOG_HISTORY_STEP_SECONDS": "1"})
                core.start()
                try:
                    run(name, core, a.sites, a.rounds, a.clients)
                finally:
                    core.stop()
    finally:
        weed.cleanup()
        pg.cleanup()


if __name__ == "__main__":
    main()
