"""Core→core forwarding (issue 12), on both backend pairs: edge → core A → forwards → core B. B is killed -9 and
restarted mid-way, A is killed -9 mid-forward; every object lands in B exactly once under its
original site's partition, the lag metric rises during B's outage and returns to 0, and a site
token on B cannot submit on behalf of another site."""

import os
import time
import uuid

import pytest
import requests

from conftest import BACKEND_PAIRS, CoreServer, Entry, assert_error, backend_pair, make_segment, sha256_hex, wait_until
from fleetkit import metrics

from edgekit import edge_factory  # noqa: F401  (fixture)


def _relay_token(core: CoreServer, name: str) -> str:
    out = core.cli("sites", "add", name, "--relay").stdout
    return [l for l in out.splitlines() if l.strip()][-1].strip()


def _lag(core: CoreServer, target: str) -> dict[str, float | None]:
    m = metrics(core)
    return {k: m.value(f"tributary_forward_{k}", target=target)
            for k in ("lag_seconds", "objects_behind", "bytes_behind", "last_success_timestamp_seconds")}


def _b_objects(b: CoreServer, site: str) -> list[tuple]:
    return b.query("SELECT sha256, key FROM objects WHERE site = ? ORDER BY sha256", (site,))


def _forward_pair(tmp_path, backend_a, backend_b, bandwidth: int | None):
    b = CoreServer(tmp_path / "b", backend=backend_b).start()
    token = _relay_token(b, "core-a")
    env = {"TRIBUTARY_FORWARD_RPO_SECONDS": "5"}
    if bandwidth:
        env["TRIBUTARY_FORWARD_BANDWIDTH_BYTES_PER_SECOND"] = str(bandwidth)
    a = CoreServer(tmp_path / "a", args=["--forward-url", b.base, "--forward-token", token, "--core-id", "core-a"],
                   env=env, backend=backend_a).start()
    return a, b


def _check_landed(a: CoreServer, b: CoreServer, site: str, expected: dict[str, bytes]):
    """Every object is in B once, under the original site's partition, with A's times."""
    objs = _b_objects(b, site)
    assert sorted(s for s, _ in objs) == sorted(sha256_hex(d) for d in expected.values()), "B's objects differ from what the edge sent"
    keys = b.lake_files(site)
    assert sorted(keys) == sorted(k for _, k in objs), "B's lake holds other files than its catalog names"
    assert all(f"/site={site}/" in "/" + k for k in keys)
    assert b.lake_files("core-a") == [], "nothing may land under the relay's own site"
    for sha, key in objs:
        data = b.read_lake(key)
        assert data is not None and sha256_hex(data) == sha
    # The original receive and capture times travelled; the relay is the provenance.
    a_times = set(a.query("SELECT name, captured_at, received_at FROM arrivals WHERE site = ?", (site,)))
    b_rows = b.query("SELECT name, captured_at, received_at, relay FROM arrivals WHERE site = ?", (site,))
    assert {(n, c, r) for n, c, r, _ in b_rows} == a_times
    assert {rel for *_, rel in b_rows} == {"core-a"}


@pytest.mark.parametrize("pair", BACKEND_PAIRS)
def test_forward_survives_kills_of_both_cores(tmp_path, edge_factory, request, pair):
    a, b = _forward_pair(tmp_path, backend_pair(pair, request), backend_pair(pair, request), bandwidth=1_500_000)
    try:
        site = a.new_site("plant")
        edge = edge_factory(a.base, site.site, site.token).start()
        expected: dict[str, bytes] = {}

        def drop(n: int, size: int):
            for _ in range(n):
                name = f"f{len(expected):03d}.bin"
                expected[name] = os.urandom(size)
                edge.drop(f"vibration/{name}", expected[name])

        # Phase 1: B is up; some reach it. Then B dies (kill -9).
        drop(20, 40_000)
        wait_until(lambda: len(_b_objects(b, site.site)) >= 3, 30, what="first objects forwarded to B")
        b.kill()
        drop(20, 40_000)
        edge.wait_drained(timeout=30, acked=len(expected))
        target = b.base
        # The lag grows while B is down, and A counts what is behind.
        wait_until(lambda: (_lag(a, target)["lag_seconds"] or 0) >= 2, 20, what="lag to rise during B's outage")
        behind = _lag(a, target)
        assert behind["objects_behind"] and behind["objects_behind"] > 0 and behind["bytes_behind"] > 0, behind
        # The fleet API (and so the dashboard) shows the same, from the catalog.
        view = requests.get(a.url("/v1/sites"), headers={"Authorization": f"Bearer {a.admin_token}"}, timeout=10).json()["forward"]
        assert [f["target"] for f in view] == [target] and view[0]["objects_behind"] > 0 and view[0]["rpo_seconds"] == 5
        # Phase 2: B back; A is killed -9 while forwarding (the bandwidth cap keeps it busy).
        b.start()
        before = len(_b_objects(b, site.site))
        wait_until(lambda: len(_b_objects(b, site.site)) > before, 30, what="forwarding to resume after B's restart")
        a.kill()
        a.start()
        wait_until(lambda: len(_b_objects(b, site.site)) == len(expected), 60, what="every object forwarded to B")
        wait_until(lambda: _lag(a, target)["lag_seconds"] == 0, 20, what="lag back to 0")
        final = _lag(a, target)
        view = requests.get(a.url("/v1/sites"), headers={"Authorization": f"Bearer {a.admin_token}"}, timeout=10).json()["forward"][0]
        assert view["lag_seconds"] == 0 and view["uploads_behind"] == 0 and not view["behind"] and view["last_success_at"]
        assert final["objects_behind"] == 0 and final["bytes_behind"] == 0, final
        assert final["last_success_timestamp_seconds"] and final["last_success_timestamp_seconds"] > time.time() - 60
        _check_landed(a, b, site.site, expected)
        # Every upload committed at A is behind the cursor, nothing set aside.
        assert a.query("SELECT position, set_aside FROM forward_targets") == [(a.count("SELECT MAX(commit_seq) FROM uploads"), 0)]

        # B recorded where the uploads came from: origin A, path [A], in the catalog and the manifests.
        assert set(b.query("SELECT origin, path FROM uploads WHERE site = ?", (site.site,))) == {("core-a", "core-a")}
        lines = [l for l in b.arrival_manifest_lines() if l["site"] == site.site]
        assert lines and all(l["origin"] == "core-a" and l["path"] == ["core-a"] for l in lines)

        # On B, an ordinary site token cannot submit on behalf of another site.
        other = b.new_site("intruder")
        r = other.create(4, {"name": "x.csv", "stream": "s", "site": site.site})
        assert_error(r, 403, "not_a_relay")
    finally:
        for c in (a, b):
            if c.alive:
                c.stop()


def test_core_path_is_checked_at_creation(live_core, site):
    """Loop prevention's input rules at the upstream: relays only, bounded, well-formed, and a
    core refuses an upload whose path already holds it."""
    out = live_core.cli("sites", "add", f"relay-{uuid.uuid4().hex[:8]}", "--relay").stdout
    relay = live_core.client([l for l in out.splitlines() if l.strip()][-1].strip())
    md = {"kind": "segment", "site": site.site}
    # An ordinary site may not state a path.
    assert_error(site.create(10, {"kind": "segment", "origin-core": "core-x", "core-path": "core-x"}), 403, "not_a_relay")
    # Malformed or unbounded values are precise 400s, before anything is staged.
    for origin, path in [("core-x", None), (None, "core-x"), ("core-x", "core-y"), ("core-x", "core-x,core-x"),
                         ("core x", "core x"), ("core-x", "core-x," + ",".join(f"c{i}" for i in range(16))),
                         ("c" * 65, "c" * 65), ("core-x", "core-x,")]:
        r = relay.create(10, {**md, "origin-core": origin, "core-path": path})
        assert_error(r, 400, "invalid_metadata")
    # A path holding this core is a loop.
    core_id = relay.request("OPTIONS", "/v1/uploads").headers["Tributary-Core-Id"]
    assert core_id == (live_core.data_dir / "core.id").read_text().strip()
    body = assert_error(relay.create(10, {**md, "origin-core": "core-x", "core-path": f"core-x,{core_id}"}), 409, "forward_loop")
    assert core_id in body["message"]
    # A well-formed path of other cores is taken.
    assert relay.create(10, {**md, "origin-core": "core-x", "core-path": "core-x,core-y"}).status_code == 201


def test_forward_on_s3_and_postgres(tmp_path, request):
    """A short forward with both cores on S3 lakes and PostgreSQL catalogs: objects are read back
    from A's bucket (ranged GETs) and land once in B's under the original site; A's cursor and
    lag live in PostgreSQL."""
    a, b = _forward_pair(tmp_path, backend_pair("s3+postgres", request), backend_pair("s3+postgres", request), bandwidth=None)
    try:
        site = a.new_site("plant")
        expected: dict[str, bytes] = {}
        for u in range(3):
            entries = [Entry("vibration", f"s{u}-{i}.bin", os.urandom(3000 + 1500 * i)) for i in range(4)]
            # The same content twice in one upload: stored once, two arrivals, both forwarded.
            entries.append(Entry("vibration", f"s{u}-copy.bin", entries[0].data))
            for e in entries:
                expected[e.name] = e.data
            site.upload_segment(make_segment(entries))
        big = os.urandom(3 << 20)  # more than one 1 MiB lake read
        site.upload_object(big, "big.bin")
        expected["big.bin"] = big
        target = b.base
        wait_until(lambda: b.count("SELECT COUNT(*) FROM arrivals WHERE site = ?", (site.site,)) >= len(expected), 60,
                   what="every arrival forwarded to B")
        wait_until(lambda: _lag(a, target)["lag_seconds"] == 0, 20, what="lag back to 0")
        _check_landed(a, b, site.site, {k: v for k, v in expected.items() if not k.endswith("-copy.bin")})
        names = sorted(n for (n,) in b.query("SELECT name FROM arrivals WHERE site = ?", (site.site,)))
        assert names == sorted(expected), "every arrival, duplicates within an upload included, reaches B once"
        assert a.query("SELECT position, set_aside FROM forward_targets") == [(4, 0)]
    finally:
        for c in (a, b):
            if c.alive:
                c.stop()
