"""Active-active cores (issue 12): cores A and B forward to each other, each a relay of the other;
edges write to both, one edge with `core = [A, B]` switches from A to B when A is killed -9, and A
is restarted. After quiescence:

- A's and B's sets of arrivals are identical — in the catalogs (read-only SQLite), in the arrival
  manifests the lake carries (`_tributary/arrivals/`, the catalog's export) and in the lake listings;
- no content is stored twice per core (one lake file per site and sha256, every one named by the catalog);
- the bytes forwarded stay bounded and stop (no loop): measured on the wire by a
  `tributary-faultproxy` (no faults) on each forwarding direction — together at most a small
  multiple of the raw bytes the edges delivered, and no new bytes nor arrivals once quiet.

Real binaries on loopback, filesystem lake + SQLite (the forwarding itself runs on both backend
pairs in test_forward.py). The set compared is (site, stream, name, sha256, captured-at): arrival
records are facts about one delivery, and an object the dead core committed without its receipt
reaching the edge was delivered once to each core (docs/REPLICATION.md).
"""

from __future__ import annotations

import random
import secrets
import subprocess
import time

import pytest

from conftest import core_binary, sha256_hex, wait_until
from edgekit import edge_factory, proxy_factory  # noqa: F401  (fixtures)
from fleetkit import metrics

ROAMING = "plant-roaming"  # core = [A, B]


def relay_token(core, name: str) -> str:
    out = core.cli("sites", "add", name, "--relay").stdout
    return [l for l in out.splitlines() if l.strip()][-1].strip()


def arrival_set(core) -> set[tuple]:
    return set(core.query("SELECT site, stream, name, sha256, captured_at FROM arrivals"))


def manifest_set(core) -> set[tuple]:
    return {(m["site"], m["stream"], m["name"], m["sha256"], m["captured_at"]) for m in core.arrival_manifest_lines()}


def stored_once(core) -> dict[tuple[str, str], str]:
    """(site, sha256) → key, checking each content is stored once and every lake file is named by the catalog."""
    rows = core.query("SELECT site, sha256, key FROM objects")
    by = {}
    for site, sha, key in rows:
        assert (site, sha) not in by, f"{core.data_dir.name}: {site}/{sha} stored twice"
        by[(site, sha)] = key
    files = core.lake_files()
    assert len(files) == len(set(files))
    assert sorted(files) == sorted(by.values()), f"{core.data_dir.name}: lake files and catalog objects differ"
    return by


def test_two_cores_forwarding_to_each_other_converge_with_no_loop(tmp_path, core_factory, edge_factory, proxy_factory):
    started = time.monotonic()
    a = core_factory(start=False)
    b = core_factory(start=False)
    # Each core is a relay of the other; forwarding goes through a counting proxy each way.
    to_b = relay_token(b, "core-a")
    to_a = relay_token(a, "core-b")
    via_ab = proxy_factory(b.port)  # A → B
    via_ba = proxy_factory(a.port)  # B → A
    a.args += ["--core-id", "core-a", "--forward-url", via_ab.url, "--forward-token", to_b]
    b.args += ["--core-id", "core-b", "--forward-url", via_ba.url, "--forward-token", to_a]
    # The roaming site: the same token on both cores.
    roaming_token = "trb_" + secrets.token_hex(24)
    (tmp_path / "roaming.token").write_text(roaming_token + "\n")
    for c in (a, b):
        c.cli("sites", "add", ROAMING, "--token-file", str(tmp_path / "roaming.token"))
    a_site, a_token = "plant-a", a.add_site("plant-a")
    b_site, b_token = "plant-b", b.add_site("plant-b")
    a.start()
    b.start()

    rng = random.Random(1212)
    raw_bytes = 0
    edges = {
        a_site: edge_factory(a.base, a_site, a_token),
        b_site: edge_factory(b.base, b_site, b_token),
        ROAMING: edge_factory([a.base, b.base], ROAMING, roaming_token, failover_after_seconds=1, failback_probe_seconds=2,
                              bandwidth_bytes_per_second=400_000, chunk_bytes=64 << 10, chunk_floor_bytes=16 << 10,
                              large_object_bytes=128 << 10, incompressible_alone_bytes=128 << 10),
    }
    sent: dict[str, int] = {s: 0 for s in edges}

    def drop(site: str, n: int, size: int, tag: str):
        nonlocal raw_bytes
        for i in range(n):
            data = rng.randbytes(size)
            raw_bytes += size
            sent[site] += 1
            edges[site].drop(f"{'clips' if size > 100_000 else 'telemetry'}/{tag}-{i:03d}.bin", data)

    drop(a_site, 10, 8_000, "p1")
    drop(b_site, 10, 8_000, "p1")
    drop(ROAMING, 10, 8_000, "p1")
    drop(ROAMING, 4, 200_000, "p1")
    for e in edges.values():
        e.start()

    # The roaming edge is mid-way at A: kill -9 A.
    wait_until(lambda: a.count("SELECT count(*) FROM arrivals WHERE site = ?", (ROAMING,)) >= 1, 20, 0.05,
               what="the roaming edge's first arrival at A")
    a.kill()
    drop(a_site, 5, 8_000, "p2")  # waits at its edge: its only core is down
    drop(b_site, 5, 8_000, "p2")
    drop(ROAMING, 5, 8_000, "p2")
    wait_until(lambda: (edges[ROAMING].status()["agent"]["core"] or {}).get("index") == 1, 15, 0.1,
               what="the roaming edge to fail over to B")
    edges[ROAMING].wait_drained(30, acked=sent[ROAMING])
    a.start()
    wait_until(lambda: (edges[ROAMING].status()["agent"]["core"] or {}).get("index") == 0, 10, 0.1,
               what="the roaming edge to return to A")
    drop(ROAMING, 3, 8_000, "p3")
    for site, e in edges.items():
        e.wait_drained(40, acked=sent[site])

    # Quiescence: both forwarders caught up (nothing behind) and both cores hold the same set.
    def behind(core, target) -> float | None:
        return metrics(core).value("tributary_forward_uploads_behind", target=target)

    def converged():
        sa, sb = arrival_set(a), arrival_set(b)
        return (sa == sb and len(sa) >= sum(sent.values()) and behind(a, via_ab.url) == 0 and behind(b, via_ba.url) == 0
                and (sa, sb))

    try:
        wait_until(converged, 40, 0.25, what="A and B to hold the same arrivals")
    except AssertionError:
        sa, sb = arrival_set(a), arrival_set(b)
        raise AssertionError(f"only at A: {sorted(sa - sb)[:5]}; only at B: {sorted(sb - sa)[:5]}; "
                             f"{len(sa)} at A, {len(sb)} at B, {sum(sent.values())} sent; uploads behind: "
                             f"A→B {behind(a, via_ab.url)}, B→A {behind(b, via_ba.url)}") from None
    # The proxies rewrite their stats file every 0.5 s: the count before the quiet window is the
    # one that stopped moving (else the tail of the last forward lands inside the window).
    def wire() -> int:
        return via_ab.stats()["bytes_up"] + via_ba.stats()["bytes_up"]

    def settled():
        first = wire()
        time.sleep(0.6)
        return first == wire() and (first,)

    (wire_before,) = wait_until(settled, 10, 0, what="the proxies' byte counts to settle")
    arrivals_before = (a.count("SELECT count(*) FROM arrivals"), b.count("SELECT count(*) FROM arrivals"))
    time.sleep(4)  # twice the forwarder's idle timer: a loop would keep shipping
    assert behind(a, via_ab.url) == 0 and behind(b, via_ba.url) == 0
    wire_after = via_ab.stats()["bytes_up"] + via_ba.stats()["bytes_up"]
    arrivals_after = (a.count("SELECT count(*) FROM arrivals"), b.count("SELECT count(*) FROM arrivals"))
    assert arrivals_after == arrivals_before, "arrivals still growing after quiescence: a forwarding loop"
    assert wire_after - wire_before < 16 << 10, f"{wire_after - wire_before} bytes forwarded while quiet"

    # Identical sets: catalog, its export in the lake (arrival manifests), lake listing.
    sa, sb = arrival_set(a), arrival_set(b)
    assert sa == sb
    assert manifest_set(a) == manifest_set(b) == sa
    assert sorted(a.lake_files()) == sorted(b.lake_files())
    # Each content once per core, and the same bytes under the same key on both.
    oa, ob = stored_once(a), stored_once(b)
    assert oa == ob
    for (site, sha), key in oa.items():
        assert sha256_hex((a.lake / key).read_bytes()) == sha == sha256_hex((b.lake / key).read_bytes())
    # Everything every edge sent is there, under its own site.
    for site, n in sent.items():
        assert len({x for x in sa if x[0] == site}) == n, site
    # Forwarded arrivals name their relay; nothing was filed under a relay's own site.
    assert not a.lake_files("core-b") and not b.lake_files("core-a")
    assert set(b.query("SELECT DISTINCT relay FROM arrivals WHERE site = ?", (a_site,))) == {("core-a",)}
    assert set(a.query("SELECT DISTINCT relay FROM arrivals WHERE site = ?", (b_site,))) == {("core-b",)}

    # Bounded: each object crosses between the cores about once (the roaming edge's objects that
    # reached both cores directly cross as have-checked references or deduplicated uploads).
    forwarded = wire_after
    print(f"raw {raw_bytes} bytes from the edges; forwarded {forwarded} bytes on the wire "
          f"(A→B {via_ab.stats()['bytes_up']}, B→A {via_ba.stats()['bytes_up']}), {forwarded / raw_bytes:.2f}×; "
          f"{len(sa)} arrivals each; {time.monotonic() - started:.1f}s")
    assert forwarded <= 3 * raw_bytes, f"{forwarded} bytes forwarded for {raw_bytes} raw"
