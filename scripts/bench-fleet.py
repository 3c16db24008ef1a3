#!/usr/bin/env python3
"""Cost of the fleet view (issue 5): heartbeats/s, and the time of GET /v1/sites, the dashboard's
query and /metrics with many sites, on both backend pairs.

    .venv/bin/python scripts/bench-fleet.py [--sites N] [--rounds R] [--clients C] [--bin PATH]
    .venv/bin/python scripts/bench-fleet.py --uploads [--sites N] [--rounds R] [--object-kib K] [--chunk-kib C] [--skip-s3] [--bin PATH]
    .venv/bin/python scripts/bench-fleet.py --single-mib M [--chunk-kib C] [--skip-s3] [--bin PATH]

`--uploads` (issue 14, "core peak RSS while 100 sites upload at once"): N sites, one client thread
each, all released together, each uploading R objects of K KiB (tus, 1 MiB PATCHes, so every site
has an upload open while the others send); prints the core's peak RSS (`VmHWM`) idle and at the
end, and the objects/s. Every object's final PATCH must answer 204 with its receipt. `--chunk-kib`: the
PATCH size (default 1024; the edge's default is 16384). `--single-mib M`: one site uploading one object of
M MiB alone (PATCHes of --chunk-kib), timed three times: the throughput of one large upload, the
reference for changes to the core's receive path (read buffers, body budget).

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


def run_uploads(name: str, core: CoreServer, sites: int, rounds: int, object_kib: int, chunk_kib: int) -> None:
    import os
    import random
    import threading

    from bench import peak_rss_mib  # noqa: E402

    clients = [core.new_site("fleet") for _ in range(sites)]
    idle = peak_rss_mib(core.proc.pid)
    start = threading.Barrier(sites)
    failures: list[str] = []

    def site_uploads(i: int) -> None:
        rng = random.Random(i)
        start.wait(timeout=120)
        for r in range(rounds):
            data = rng.randbytes(object_kib * 1024)
            try:
                _, answer = clients[i].upload_object(data, f"obj-{i}-{r}.bin", stream="fleet", chunk=chunk_kib << 10)
                if answer is None or answer.status_code != 204:
                    failures.append(f"site {i} round {r}: {answer.status_code if answer is not None else None}")
            except Exception as e:  # noqa: BLE001 - reported below, the run fails
                failures.append(f"site {i} round {r}: {e}")

    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=sites) as pool:
        list(pool.map(site_uploads, range(sites)))
    took = time.perf_counter() - t
    total = sites * rounds
    print(f"{name:12} {total} objects of {object_kib} KiB from {sites} sites at once: {total / took:6.1f} objects/s, "
          f"{total * object_kib / 1024 / took:6.1f} MiB/s; core peak RSS {idle:.1f} MiB idle (sites registered), "
          f"{peak_rss_mib(core.proc.pid):.1f} MiB after (VmHWM)")
    if failures:
        raise SystemExit(f"{len(failures)} uploads failed, e.g. {failures[:3]}")


def run_single(name: str, core: CoreServer, mib: int, chunk_kib: int) -> None:
    import os

    from bench import cpu_seconds, peak_rss_mib  # noqa: E402

    client = core.new_site("single")
    data = os.urandom(mib << 20)
    rates = []
    cpu0 = cpu_seconds(core.proc.pid)
    for r in range(3):
        t = time.perf_counter()
        _, answer = client.upload_object(data[:-1 - r], f"single-{r}.bin", stream="single", chunk=chunk_kib << 10)
        took = time.perf_counter() - t
        if answer is None or answer.status_code != 204:
            raise SystemExit(f"upload {r} failed: {answer.status_code if answer is not None else None}")
        rates.append(len(data) / (1 << 20) / took)
    print(f"{name:12} one object of {mib} MiB in PATCHes of {chunk_kib} KiB, 3 times: "
          f"{' '.join(f'{x:.1f}' for x in rates)} MiB/s (median {statistics.median(rates):.1f}); "
          f"core CPU {cpu_seconds(core.proc.pid) - cpu0:.1f} s, peak RSS {peak_rss_mib(core.proc.pid):.1f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=100)
    ap.add_argument("--rounds", type=int, help="heartbeats per site (default 20); with --uploads, objects per site (default 2)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--bin")
    ap.add_argument("--uploads", action="store_true", help="N sites uploading at once: the core's peak RSS (issue 14)")
    ap.add_argument("--object-kib", type=int, default=4096, help="--uploads: size of each object (default 4096 KiB)")
    ap.add_argument("--chunk-kib", type=int, default=1024, help="--uploads, --single-mib: PATCH size (default 1024 KiB)")
    ap.add_argument("--single-mib", type=int, help="one site uploading one object of this many MiB alone, timed")
    ap.add_argument("--skip-s3", action="store_true", help="only the filesystem lake + SQLite")
    a = ap.parse_args()
    sys.path.insert(0, str(REPO / "scripts"))
    if a.bin:
        import os
        os.environ["TRIBUTARY_CORE_BIN"] = a.bin
    pg = None if a.skip_s3 else Postgres(fsync=True).start()
    weed = None if a.skip_s3 else SeaweedFS().start()
    try:
        with tempfile.TemporaryDirectory(prefix="tributary-bench-fleet-") as tmp:
            pairs = [("fs+sqlite", FsSqlite())] + ([] if a.skip_s3 else [("s3+postgres", S3Postgres(pg, weed))])
            for name, pair in pairs:
                core = CoreServer(Path(tmp) / name / "data", backend=pair, env={"TRIBUTARY_BACKLOG_HISTORY_STEP_SECONDS": "1"})
                core.start()
                try:
                    if a.single_mib:
                        run_single(name, core, a.single_mib, a.chunk_kib)
                    elif a.uploads:
                        run_uploads(name, core, a.sites, a.rounds or 2, a.object_kib, a.chunk_kib)
                    else:
                        run(name, core, a.sites, a.rounds or 20, a.clients)
                finally:
                    core.stop()
    finally:
        if weed is not None:
            weed.cleanup()
        if pg is not None:
            pg.cleanup()


if __name__ == "__main__":
    main()
