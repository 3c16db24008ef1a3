"""The edge agent end to end against a real core: intake, batching, upload, acknowledgement."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import time

import pytest

from conftest import wait_until
from edgekit import EdgeAgent, arrivals, assert_exactly_once, edge_factory  # noqa: F401


def sensor_files(rng: random.Random, n: int) -> dict[tuple[str, str], bytes]:
    """CSV and JSON readings in two streams, plus duplicates of content under other names."""
    files: dict[tuple[str, str], bytes] = {}
    for i in range(n):
        rows = "\n".join(f"{1700000000 + j},{rng.uniform(-1, 1):.5f}" for j in range(rng.randint(5, 200)))
        files[("vibration", f"2026/11/v{i:04d}.csv")] = f"t,v\n{rows}\n".encode()
        files[("temperature", f"t{i:04d}.json")] = json.dumps({"sensor": i, "c": [rng.uniform(10, 30) for _ in range(20)]}).encode()
    some = list(files.items())[:5]
    for (stream, name), data in some:
        files[(stream, "copy-of-" + name.replace("/", "-"))] = data
    return files


def test_inbox_files_arrive_exactly_once_and_leave_the_inbox(live_core, edge_factory):
    site = live_core.new_site("edge")
    files = sensor_files(random.Random(1), 40)
    files[("blobs", "big.bin")] = random.Random(2).randbytes(9 << 20)  # own upload, incompressible
    files[("blobs", "zeros.dat")] = bytes(10 << 20)  # own upload, zstd
    files[("blobs", "empty.txt")] = b""
    agent = edge_factory(live_core.base, site.site, site.token)
    for (stream, name), data in files.items():
        agent.drop(f"{stream}/{name}", data)
    agent.start()
    status = agent.wait_drained(90, acked=len(files))
    got = assert_exactly_once(live_core, site.site, files)
    assert sum(1 for a in got if a["status"] == "duplicate") == 5
    assert not [p for p in agent.inbox.rglob("*") if p.is_file()], "inbox not emptied"
    assert status["counters"]["acked_objects"] == len(files)
    assert status["counters"]["acked_duplicates"] == 5
    assert status["agent"]["link"]["state"] == "up"
    # Nothing left in the spool but the journal and the lock/status files.
    assert not list((agent.spool / "objects").iterdir())
    assert not list((agent.spool / "batches").iterdir())
    # The small ones went in segments, not one upload each.
    uploads = {a["upload_id"] for a in got}
    assert len(uploads) < len(files) / 4, f"{len(uploads)} uploads for {len(files)} objects"
    # zstd on the wire for the zeros: the core received far fewer bytes than 10 MiB.
    assert "encoding=zstd name=zeros.dat" in agent.log_text().replace('"', "")


def test_captured_at_is_the_files_mtime(live_core, edge_factory):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token)
    p = agent.drop("vibration/old.csv", b"t,v\n1,2\n")
    os.utime(p, (1_600_000_000.25, 1_600_000_000.25))
    agent.start()
    agent.wait_drained(30, acked=1)
    [a] = arrivals(live_core, site.site)
    assert a["captured_at"] == "2020-09-13T12:26:40.250Z"
    assert "date=2020-09-13" in a["key"]


def test_put_returns_once_durable_and_status_matches_the_journal(live_core, edge_factory, tmp_path):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token)
    src = tmp_path / "readings.csv"
    src.write_bytes(b"t,v\n1,0.5\n")
    other = tmp_path / "more.json"
    other.write_bytes(b'{"a":1}')
    out = agent.put(src, other, stream="manual", captured_at="2026-01-02T03:04:05Z")
    assert "accepted manual/readings.csv" in out.stdout
    assert src.exists(), "put must leave the original alone"
    # Not running: the journal has them, status says so, exactly.
    s = agent.status()
    assert s["agent_running"] is False
    assert s["pending_objects"] == 2 and s["pending_bytes"] == len(b"t,v\n1,0.5\n") + len(b'{"a":1}')
    [stream] = s["streams"]
    assert stream == {"stream": "manual", "priority": 0, "pending_objects": 2, "pending_bytes": 17,
                      "oldest_captured_at": "2026-01-02T03:04:05.000Z"}
    rows = agent.journal("SELECT COUNT(*), SUM(size) FROM objects")
    assert rows == [(2, 17)]
    agent.start()
    agent.wait_drained(30)
    got = arrivals(live_core, site.site)
    assert sorted(a["name"] for a in got) == ["more.json", "readings.csv"]
    assert all(a["captured_at"] == "2026-01-02T03:04:05.000Z" for a in got)


def test_put_into_a_running_idle_agent_is_delivered_at_once(live_core, edge_factory, tmp_path):
    """`put` rings the running agent's doorbell (spool/doorbell): its batcher wakes at once instead of
    at a timer. poll_ms is 30 s here (the batcher's own safety timer is 60 s), so only the doorbell
    explains a delivery within seconds; twice, so the doorbell keeps ringing after the first."""
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token, poll_ms=30000)
    agent.start()
    wait_until(lambda: agent.status().get("agent") is not None, 20, 0.1, what="the agent running")
    time.sleep(1)  # idle: the batcher's start-up pass is over and it waits
    for i in range(2):
        src = tmp_path / f"late{i}.csv"
        src.write_bytes(f"t,v\n{i},1\n".encode())
        agent.put(src, stream="manual")
        t0 = time.monotonic()
        wait_until(lambda: len(arrivals(live_core, site.site)) == i + 1, 10, 0.05, what=f"put #{i + 1} delivered")
        took = time.monotonic() - t0
        assert took < 3, f"put #{i + 1} took {took:.1f} s to arrive: the doorbell did not wake the batcher"


def test_put_rejects_bad_input_clearly(live_core, edge_factory, tmp_path):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token)
    good = tmp_path / "ok.csv"
    good.write_bytes(b"1")
    r = agent.put(good, captured_at="yesterday", check=False)
    assert r.returncode == 64 and "captured-at" in r.stderr  # EX_USAGE, as edge/README.md says
    r = agent.put(good, stream="bad stream", check=False)
    assert r.returncode != 0 and "stream" in r.stderr
    r = agent.put(tmp_path / "missing.csv", check=False)
    assert r.returncode == 1 and "missing.csv" in r.stderr and "vanished" in r.stderr
    r = agent.put(tmp_path, check=False)  # a directory
    assert r.returncode == 1 and "not a regular file" in r.stderr
    assert agent.journal("SELECT COUNT(*) FROM objects") == [(0,)]


def test_status_while_running_matches_the_journal(live_core, edge_factory):
    site = live_core.new_site("edge")
    # Point the agent at a closed port: everything stays pending, the link goes down.
    agent = edge_factory("http://127.0.0.1:9", site.site, site.token, retry_cap_ms=300, down_after_failures=2)
    for i in range(30):
        agent.drop(f"s{i % 3}/f{i}.csv", f"{i}\n".encode() * (i + 1))
    agent.start()
    wait_until(lambda: agent.status()["pending_objects"] == 30, 20, what="30 pending")
    wait_until(lambda: agent.status()["agent"]["link"]["state"] == "down", 20, what="link down")
    s = agent.status()
    assert s["agent_running"] is True
    assert s["agent"]["link"]["last_error"]
    for st in s["streams"]:
        n, b, oldest = agent.journal(
            "SELECT COUNT(*), SUM(size), MIN(captured_at) FROM objects WHERE stream = ?", (st["stream"],))[0]
        assert (st["pending_objects"], st["pending_bytes"], st["oldest_captured_at"]) == (n, b, oldest)
    assert s["spool"]["used_bytes"] == agent.journal("SELECT SUM(size) FROM objects")[0][0]
    text = agent.cli("status").stdout
    assert "link down" in text and "s1" in text


def test_priorities_go_first(live_core, edge_factory):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token, segment_max_objects=1,
                         priorities={"alarms": 10})
    for i in range(5):
        agent.drop(f"bulk/b{i}.csv", f"b{i}".encode())
    for i in range(3):
        agent.drop(f"alarms/a{i}.csv", f"a{i}".encode())
    # Take everything before anything is sent: the core is reachable only after intake.
    agent.write_config(core_url="http://127.0.0.1:9")
    agent.start()
    wait_until(lambda: agent.status()["pending_objects"] == 8, 20, what="8 pending")
    agent.stop()
    agent.write_config(core_url=live_core.base)
    agent.start()
    agent.wait_drained(30)
    order = [a["stream"] for a in arrivals(live_core, site.site)]
    assert order[:3] == ["alarms"] * 3, order


def test_keep_policy_takes_each_file_once(live_core, edge_factory):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token, inbox_policy="keep")
    agent.drop("logs/a.txt", b"first")
    agent.start()
    agent.wait_drained(30)
    assert (agent.inbox / "logs/a.txt").exists()
    agent.stop()
    agent.start()
    time.sleep(1.5)
    agent.wait_drained(30)
    assert len(arrivals(live_core, site.site)) == 1, "a kept file must be taken once"
    # A new version of the same file is new content: taken again.
    (agent.inbox / "logs/a.txt").write_bytes(b"second")
    wait_until(lambda: len(arrivals(live_core, site.site)) == 2, 30, what="the new version")


def test_sigterm_mid_upload_stops_cleanly_and_resumes(live_core, edge_factory):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token, bandwidth_bytes_per_second=4 << 20, chunk_bytes=1 << 20)
    data = random.Random(5).randbytes(24 << 20)
    agent.drop("blobs/slow.bin", data)
    agent.start()
    wait_until(lambda: (agent.status().get("agent") or {}).get("in_flight"), 20, what="an upload in flight")
    time.sleep(1)
    assert agent.stop() == 0
    assert agent.journal("PRAGMA integrity_check") == [("ok",)]
    [(url, offset)] = agent.journal("SELECT upload_url, upload_offset FROM batches")
    assert url and 0 < offset < len(data)
    agent.write_config(bandwidth_bytes_per_second=0)
    agent.start()
    agent.wait_drained(60)
    assert_exactly_once(live_core, site.site, {("blobs", "slow.bin"): data})
    assert "resuming an upload" in agent.log_text()


def test_one_agent_per_spool(live_core, edge_factory):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token)
    agent.start()
    second = subprocess.run([str(agent.binary), "run", "--config", str(agent.config)],
                            capture_output=True, text=True, timeout=30)
    assert second.returncode != 0
    assert "another tributary-edge agent is running on the spool" in second.stderr
    assert agent.alive


def test_bandwidth_cap_is_kept(live_core, edge_factory):
    site = live_core.new_site("edge")
    rate = 1 << 20
    agent = edge_factory(live_core.base, site.site, site.token, bandwidth_bytes_per_second=rate, chunk_bytes=512 << 10)
    data = random.Random(6).randbytes(4 << 20)  # incompressible: 4 MiB on the wire
    agent.start()
    started = time.monotonic()
    agent.drop("blobs/capped.bin", data)
    agent.wait_drained(60, acked=1)
    elapsed = time.monotonic() - started
    # A lower bound only (a loaded machine is slower, never faster): 4 MiB at 1 MiB/s.
    assert elapsed >= 3.0, f"4 MiB went out in {elapsed:.1f} s under a 1 MiB/s cap"
    assert agent.status()["agent"]["bandwidth_bytes_per_second"] == rate
