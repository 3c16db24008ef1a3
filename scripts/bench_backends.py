#!/usr/bin/env python3
"""Throughput of tributary-core on its backend pairs, next to the raw store it writes to.

    .venv/bin/python scripts/bench_backends.py [--objects N] [--size BYTES] [--clients C]
        [--per-segment K] [--bin PATH]

Starts (on 127.0.0.1, in temporary directories, stopped at the end): a PostgreSQL with fsync on,
a SeaweedFS (`weed mini`), and tributary-core processes. Then, for each setup, C client threads
upload N distinct objects of BYTES bytes — one tus upload per object, and again K objects per
segment — and prints objects/s and MB/s:

    fs+sqlite            one node, filesystem lake, SQLite catalog (the embedded default)
    s3+postgres          one node, SeaweedFS lake, PostgreSQL catalog
    s3+postgres x2       two nodes on the same catalog and bucket, clients split between them
    raw S3 PUT           reference: the same objects PUT straight into SeaweedFS with boto3

Every loop is bounded (N uploads per run; each request times out after 60 s). The figures are for
this machine and this build (pass --bin for a release build); docs/SCALING.md records a run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "integration"))

from backend_pairs import FsSqlite, S3Postgres  # noqa: E402
from backends import Postgres, SeaweedFS  # noqa: E402
from conftest import CoreServer, Entry, make_segment, sha256_hex  # noqa: E402


def objects(n: int, size: int, salt: str) -> list[bytes]:
    out = []
    for i in range(n):
        seed = hashlib.sha256(f"{salt}-{i}".encode()).digest()
        out.append((seed * (size // 32 + 1))[:size])
    return out


def run_uploads(clients, items: list[bytes], per_segment: int, workers: int) -> float:
    """Uploads `items` (one upload each, or `per_segment` per segment) over `clients` round-robin;
    returns the elapsed seconds."""
    if per_segment > 1:
        batches = [items[i:i + per_segment] for i in range(0, len(items), per_segment)]
    else:
        batches = [[d] for d in items]

    def one(i: int) -> None:
        c = clients[i % len(clients)]
        batch = batches[i]
        if len(batch) == 1:
            _, r = c.upload_object(batch[0], f"bench/{uuid.uuid4().hex}.bin", chunk=64 << 20)
        else:
            seg = make_segment([Entry("bench", f"{uuid.uuid4().hex}.bin", d) for d in batch])
            _, r = c.upload_segment(seg, chunk=64 << 20)
        assert r is None or r.status_code == 204, f"{r.status_code} {r.text}"

    start = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(len(batches))))
    return time.monotonic() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=400)
    ap.add_argument("--size", type=int, default=16 << 10)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--per-segment", type=int, default=50)
    ap.add_argument("--bin", default=os.environ.get("TRIBUTARY_CORE_BIN", str(REPO / ".build/debug/tributary-core")))
    args = ap.parse_args()
    os.environ["TRIBUTARY_CORE_BIN"] = args.bin

    work = Path(tempfile.mkdtemp(prefix="tributary-bench-"))
    pg = Postgres(fsync=True).start()
    weed = SeaweedFS().start()
    servers: list[CoreServer] = []
    rows: list[tuple[str, str, float]] = []
    mb = args.objects * args.size / 1e6
    try:
        def setup(name: str, pair, nodes: int):
            admin = "adm_" + uuid.uuid4().hex
            made = [CoreServer(work / f"{name}-{i}", backend=pair, env={"TRIBUTARY_ADMIN_TOKEN": admin, "TRIBUTARY_LOG_LEVEL": "warning"})
                    for i in range(nodes)]
            for s in made:
                s.start()
            servers.extend(made)
            site = made[0].new_site("bench")
            return made, [s.client(site.token, site.site) for s in made]

        setups = [
            ("fs+sqlite", FsSqlite(), 1),
            ("s3+postgres", S3Postgres(pg, weed), 1),
            ("s3+postgres x2", S3Postgres(pg, weed).shared(), 2),
        ]
        for name, pair, nodes in setups:
            made, clients = setup(name.replace(" ", "").replace("+", "-"), pair, nodes)
            for mode, per in (("1 object/upload", 1), (f"{args.per_segment} objects/segment", args.per_segment)):
                items = objects(args.objects, args.size, f"{name}-{mode}")
                secs = run_uploads(clients, items, per, args.clients)
                rows.append((name, mode, secs))
                stored = made[0].count("SELECT COUNT(*) FROM objects WHERE site = ?", (clients[0].site,))
                print(f"  {name:16} {mode:22} {args.objects / secs:8.1f} objects/s {mb / secs:7.2f} MB/s  ({stored} stored so far)",
                      flush=True)
            for s in made:
                s.stop()

        # Reference: the same number of objects PUT straight into the store.
        s3 = weed.client()
        items = objects(args.objects, args.size, "raw")
        start = time.monotonic()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(lambda d: s3.put_object(Bucket=weed.bucket, Key=f"raw/{sha256_hex(d)}", Body=d), items))
        secs = time.monotonic() - start
        rows.append(("raw S3 PUT (boto3)", "1 object/request", secs))
        print(f"  {'raw S3 PUT':16} {'1 object/request':22} {args.objects / secs:8.1f} objects/s {mb / secs:7.2f} MB/s", flush=True)
    finally:
        for s in servers:
            if s.alive:
                s.kill()
        weed.cleanup()
        pg.cleanup()

    print()
    print(f"{args.objects} objects of {args.size} bytes, {args.clients} client threads, binary {args.bin}")
    print(f"| setup | uploads | objects/s | MB/s |")
    print(f"|---|---|---:|---:|")
    for name, mode, secs in rows:
        print(f"| {name} | {mode} | {args.objects / secs:.1f} | {mb / secs:.2f} |")


if __name__ == "__main__":
    main()
