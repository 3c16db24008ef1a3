"""An edge with two cores (`core = [A, B]`, issue 12): A is killed -9 mid-upload, the agent fails
over to B and the rest lands there; A comes back and the agent returns to it.

Checked: every object is in A ∪ B with its bytes, none lost, none twice at one core; an upload
created on A is never sent to B (no upload id of one core ever appears in the other's requests or
catalog: the batch is created again at B); the whole run is bounded in time. Two real
`tributary-core` processes (filesystem lake + SQLite) on loopback, one real `tributary-edge`.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import time

from conftest import wait_until
from edgekit import EdgeAgent, arrivals, edge_factory  # noqa: F401

SITE = "plant-failover"


def register_on_both(tmp_path, *cores) -> str:
    """The same site with the same token on each core (`sites add --token-file`)."""
    token = "trb_" + secrets.token_hex(24)
    f = tmp_path / "site.token"
    f.write_text(token + "\n")
    for c in cores:
        out = c.cli("sites", "add", SITE, "--token-file", str(f)).stdout
        assert token not in out, "a given token is never printed"
    return token


def created_ids(core) -> set[str]:
    """Upload ids the core created (its log: `upload created … upload.id=…`)."""
    text = core.log_path.read_text(errors="replace")
    return {m.group(1) for line in text.splitlines() if line.endswith("upload created")
            for m in [re.search(r"upload\.id=(\S+)", line)] if m}


def per_core(core) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    for a in arrivals(core, SITE):
        out.setdefault((a["stream"], a["name"]), []).append(a)
    return out


def test_the_edge_fails_over_to_b_when_a_dies_and_returns_when_a_is_back(tmp_path, core_factory, edge_factory):
    started = time.monotonic()
    a = core_factory(args=["--log-level", "debug"])
    b = core_factory(args=["--log-level", "debug"])
    token = register_on_both(tmp_path, a, b)
    rng = random.Random(12)
    files: dict[tuple[str, str], bytes] = {}
    for i in range(24):
        files[("telemetry", f"t{i:03d}.bin")] = rng.randbytes(20_000)  # segments (fresh lane)
    for i in range(4):
        files[("clips", f"c{i}.bin")] = rng.randbytes(300_000)  # alone (bulk lane)
    edge = edge_factory(
        [a.base, b.base], SITE, token,
        # Slow enough that A dies with uploads half sent; small chunks so several PATCHes reach A.
        bandwidth_bytes_per_second=300_000, chunk_bytes=64 << 10, chunk_floor_bytes=16 << 10,
        large_object_bytes=256 << 10, incompressible_alone_bytes=256 << 10,
        failover_after_seconds=1, failback_probe_seconds=2)
    for (stream, name), data in files.items():
        edge.drop(f"{stream}/{name}", data)
    edge.start()

    # A has taken something, and an upload on A is half sent: kill -9 A then.
    def half_sent_on_a():
        if not arrivals(a, SITE):
            return None
        rows = edge.journal("SELECT upload_url, upload_offset, size FROM batches WHERE upload_url IS NOT NULL")
        return [r for r in rows if r[0].startswith(a.base + "/") and 0 < r[1] < r[2]] or None

    in_flight = wait_until(half_sent_on_a, 20, 0.05, what="an upload half sent to A after a first arrival")
    a.kill()
    killed_at = time.monotonic()
    on_a = per_core(a)
    assert on_a and len(on_a) < len(files), f"{len(on_a)} of {len(files)} objects at A when it died"

    status = edge.wait_drained(30, acked=len(files))
    drained_in = time.monotonic() - killed_at
    core = status["agent"]["core"]
    assert core["url"] == b.base and core["index"] == 1 and core["failovers"] >= 1, core
    assert core["cores"] == [a.base, b.base]

    # None lost: every object in A ∪ B, with its bytes; none twice at one core.
    on_b = per_core(b)
    assert set(on_a) | set(on_b) == set(files), sorted(set(files) - set(on_a) - set(on_b))[:10]
    for name, got in [("A", on_a), ("B", on_b)]:
        twice = [k for k, v in got.items() if len(v) > 1]
        assert not twice, f"arrived twice at {name}: {twice[:5]}"
    for c, got in [(a, on_a), (b, on_b)]:
        for key, (arr,) in got.items():
            assert arr["sha256"] == hashlib.sha256(files[key]).hexdigest()
            assert (c.lake / arr["key"]).read_bytes() == files[key], arr["key"]
    # What A had when it died was not all sent to B again: the have-check and dedup at B keep only
    # what B lacked. (B stores each content once even if some went twice over the wire.)
    assert len(b.lake_files(SITE)) == len(on_b)

    # Nothing PATCHed across cores: the upload half sent to A was created again at B, and no id
    # A ever created appears in B's requests (its debug log) or catalog.
    ids_a = created_ids(a)
    assert ids_a, "A's log names the uploads it created"
    for url, offset, size in in_flight:
        assert url.rsplit("/", 1)[1] in ids_a
    b_log = b.log_path.read_text(errors="replace")
    leaked = [i for i in ids_a if i in b_log]
    assert not leaked, f"A's uploads reached B: {leaked[:3]}"
    b_uploads = {r[0] for r in b.query("SELECT upload_id FROM uploads")}
    assert not (b_uploads & ids_a)
    assert "created again on the current one" in edge.log_text()
    assert not edge.journal("SELECT id FROM batches WHERE upload_url LIKE ?", (a.base + "/%",))
    assert drained_in < 30

    # A comes back (same port): a probe finds it within failback_probe_seconds and the agent
    # returns; what comes next lands at A.
    a.start()
    restarted_at = time.monotonic()
    wait_until(lambda: (edge.status()["agent"]["core"] or {}).get("index") == 0, 10, 0.1,
               what="the edge to return to A")
    returned_in = time.monotonic() - restarted_at
    later = {("telemetry", f"later{i}.bin"): rng.randbytes(5_000) for i in range(5)}
    for (stream, name), data in later.items():
        edge.drop(f"{stream}/{name}", data)
    status = edge.wait_drained(15, acked=len(files) + len(later))
    assert status["agent"]["core"]["returns"] >= 1
    after_a, after_b = per_core(a), per_core(b)
    assert set(later) <= set(after_a) and not (set(later) & set(after_b))
    ids_b = created_ids(b)
    a_log = a.log_path.read_text(errors="replace")
    assert not [i for i in ids_b if i in a_log], "B's uploads reached A"

    took = time.monotonic() - started
    print(f"A killed with {len(on_a)}/{len(files)} objects there; drained at B {drained_in:.1f}s after the kill; "
          f"back on A {returned_in:.1f}s after its restart; {took:.1f}s in all")
    assert took < 40, f"took {took:.1f}s"
