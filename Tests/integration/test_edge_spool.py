"""Spool limits, bad input at intake, and crashes of the agent and the core."""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time

import pytest

from conftest import wait_until
from edgekit import arrivals, assert_exactly_once, edge_factory  # noqa: F401

DEAD = "http://127.0.0.1:9"  # nothing listens: the link is down


def test_block_policy_leaves_files_in_the_inbox_and_put_fails(live_core, edge_factory, tmp_path):
    site = live_core.new_site("edge")
    agent = edge_factory(DEAD, site.site, site.token, max_spool_bytes=10_000, full_policy="block")
    for i in range(8):
        agent.drop(f"v/f{i}.bin", bytes([i]) * 2000)
    agent.start()
    wait_until(lambda: agent.status()["pending_objects"] == 5, 20, what="5 objects (10 000 bytes) taken")
    time.sleep(1)
    s = agent.status()
    assert s["pending_objects"] == 5 and s["spool"]["used_bytes"] == 10_000
    assert s["dropped_objects"] == 0
    assert len([p for p in agent.inbox.rglob("*.bin")]) == 3, "the rest must wait in the inbox"
    assert "spool full (full_policy = block)" in agent.log_text()
    extra = tmp_path / "extra.bin"
    extra.write_bytes(b"x" * 10)
    r = agent.put(extra, check=False)
    assert r.returncode == 3 and "spool is full" in r.stderr
    # The link comes back: everything drains, the waiting files included, each exactly once.
    agent.stop()
    agent.write_config(core_url=live_core.base)
    agent.start()
    agent.wait_drained(60, acked=8)
    assert_exactly_once(live_core, site.site, {("v", f"f{i}.bin"): bytes([i]) * 2000 for i in range(8)})


def test_drop_oldest_evicts_counts_and_logs(live_core, edge_factory, tmp_path):
    site = live_core.new_site("edge")
    agent = edge_factory(DEAD, site.site, site.token, max_spool_bytes=10_000, full_policy="drop-oldest")
    agent.start()
    (agent.inbox / "v").mkdir()
    for i in range(8):
        # captured-at order = i: the mtime is set before the file is renamed in (a renamed-in file is
        # taken at once, so setting it after would race the intake).
        p = tmp_path / f"f{i}.bin"
        p.write_bytes(bytes([i]) * 2000)
        os.utime(p, (1_700_000_000 + i, 1_700_000_000 + i))
        os.rename(p, agent.inbox / "v" / p.name)
        wait_until(lambda: agent.status()["counters"].get("accepted_objects", 0) == i + 1, 20, what=f"f{i} taken")
    s = agent.status()
    assert s["pending_objects"] == 5 and s["dropped_objects"] == 3 and s["dropped_bytes"] == 6000
    dropped = [r[0] for r in agent.journal("SELECT name FROM drops ORDER BY id")]
    assert dropped == ["f0.bin", "f1.bin", "f2.bin"], "the oldest go first"
    assert agent.log_text().count("dropped the oldest pending object") == 3
    assert not list(agent.inbox.rglob("*.bin"))
    agent.stop()
    agent.write_config(core_url=live_core.base)
    agent.start()
    agent.wait_drained(60, acked=5)
    assert_exactly_once(live_core, site.site, {("v", f"f{i}.bin"): bytes([i]) * 2000 for i in range(3, 8)})


def test_a_file_larger_than_the_spool_is_refused_not_lost(live_core, edge_factory):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token, max_spool_bytes=5000, full_policy="drop-oldest")
    agent.drop("v/huge.bin", b"h" * 6000)
    agent.drop("v/small.bin", b"s" * 100)
    agent.start()
    agent.wait_drained(30, acked=1)
    assert (agent.inbox / "v/huge.bin").exists(), "a file that cannot fit stays in the inbox"
    assert "larger (6000 bytes) than the whole spool" in agent.log_text()
    assert [a["name"] for a in arrivals(live_core, site.site)] == ["small.bin"]


def test_bad_input_is_refused_clearly_and_the_agent_keeps_running(live_core, edge_factory, tmp_path):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token, settle_ms=500)
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"secret")
    (agent.inbox / "v").mkdir()
    os.symlink(outside, agent.inbox / "v/link.csv")
    os.mkfifo(agent.inbox / "v/pipe")
    agent.drop("v/back\\slash.csv", b"bs")
    agent.drop("v/tab\there.csv", b"tab")
    odd = {("v", "spaces and ünïcødé €.csv"): b"1", ("v", "quote'\"s.csv"): b"2", ("v", "zero.csv"): b"",
           ("bad stream!", "x.csv"): None, ("default", "top.csv"): b"3"}
    for (stream, name), data in odd.items():
        if data is not None:
            agent.drop(name if stream == "default" else f"{stream}/{name}", data)
    (agent.inbox / "bad stream!").mkdir()
    (agent.inbox / "bad stream!" / "x.csv").write_bytes(b"4")
    (agent.inbox / ".hidden.tmp").write_bytes(b"in progress")
    # A file still being written: appended to for 2 s, taken only once it settled, whole.
    growing = agent.inbox / "v" / "growing.csv"
    def writer():
        with open(growing, "ab") as f:
            for i in range(20):
                f.write(f"{i}\n".encode())
                f.flush()
                time.sleep(0.1)
    t = threading.Thread(target=writer)
    t.start()
    agent.start()
    t.join()
    expected = {k: v for k, v in odd.items() if v is not None and k[0] != "bad stream!"}
    expected[("v", "growing.csv")] = b"".join(f"{i}\n".encode() for i in range(20))
    agent.wait_drained(60, acked=len(expected))
    time.sleep(1)
    assert agent.alive
    assert_exactly_once(live_core, site.site, expected)
    log = agent.log_text()
    assert "symbolic links in the inbox are not followed" in log
    assert "not a regular file" in log
    assert "backslash" in log or "back\\\\slash" in log
    assert "invalid" in log.lower()
    # Refused files stay where they were; a refusal is logged once, not at every scan.
    for left in ["v/link.csv", "v/pipe", "v/back\\slash.csv", "v/tab\there.csv", "bad stream!/x.csv", ".hidden.tmp"]:
        assert os.path.lexists(agent.inbox / left), left
    assert log.count("symbolic links in the inbox are not followed") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file: EACCES cannot be provoked")
def test_unreadable_file_waits(live_core, edge_factory):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token)
    p = agent.drop("v/locked.csv", b"x")
    p.chmod(0)
    agent.start()
    wait_until(lambda: "permission denied" in agent.log_text(), 20, what="the refusal")
    p.chmod(0o644)
    agent.wait_drained(30, acked=1)


def test_inbox_files_are_taken_by_link_and_put_move_too_unless_kept_or_linked_elsewhere(live_core, edge_factory, tmp_path):
    """Intake by hard link (edge/README.md, "The inbox"): the spool's object is the inbox file itself
    when the inbox policy removes it and it has no other name; otherwise a copy. The crash tests below
    run on the link path (their files are renamed into the inbox, policy delete)."""
    site = live_core.new_site("edge")
    agent = edge_factory(DEAD, site.site, site.token)
    solo = agent.drop("v/solo.csv", b"t,v\n1,2\n")
    shared = agent.drop("v/shared.csv", b"t,v\n3,4\n")
    archive = tmp_path / "archive-shared.csv"
    os.link(shared, archive)  # a second name: must be copied, the archive left as it was
    inode = {"solo.csv": solo.stat().st_ino, "shared.csv": shared.stat().st_ino}
    moved = tmp_path / "moved.csv"
    moved.write_bytes(b"t,v\n5,6\n")
    inode["moved.csv"] = moved.stat().st_ino
    agent.start()
    wait_until(lambda: agent.status()["pending_objects"] == 2, 20, what="both inbox files taken")
    agent.put(moved, stream="v", move=True)
    assert not moved.exists(), "put --move removes the file once it is durable"
    files = dict(agent.journal("SELECT name, file FROM objects"))
    spooled = {name: (agent.spool / rel).stat().st_ino for name, rel in files.items()}
    assert spooled["solo.csv"] == inode["solo.csv"] and spooled["moved.csv"] == inode["moved.csv"]
    assert spooled["shared.csv"] != inode["shared.csv"]
    assert archive.read_bytes() == b"t,v\n3,4\n" and archive.stat().st_nlink == 1
    assert not [p for p in agent.inbox.rglob("*") if p.is_file()]
    assert agent.status()["counters"]["accepted_linked"] == 2
    # `put --move` killed after its commit, before removing the file: run again, it removes it, takes nothing twice.
    again = tmp_path / "again.csv"
    again.write_bytes(b"t,v\n7,8\n")
    r = agent.put(again, stream="v", move=True, check=False, env={"TRIBUTARY_EDGE_CRASH": "intake.after-journal"})
    assert r.returncode == 137 and again.exists()
    agent.put(again, stream="v", move=True)
    assert not again.exists()
    assert agent.status()["pending_objects"] == 4
    # inbox_policy keep: copied (the kept file may change later), taken once.
    keeper = edge_factory(DEAD, site.site, site.token, inbox_policy="keep")
    kept = keeper.drop("v/kept.csv", b"t,v\n9,9\n")
    keeper.start()
    wait_until(lambda: keeper.status()["pending_objects"] == 1, 20, what="the kept file taken")
    [(rel,)] = keeper.journal("SELECT file FROM objects")
    assert (keeper.spool / rel).stat().st_ino != kept.stat().st_ino and kept.exists()
    assert keeper.status()["counters"].get("accepted_linked", 0) == 0


CRASH_POINTS = ["intake.after-copy", "intake.after-journal", "batch.mid-build", "batch.after-build",
                "upload.after-create", "upload.mid-upload", "upload.after-commit"]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_at_each_critical_moment_loses_and_duplicates_nothing(live_core, edge_factory, point):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token, chunk_bytes=64 << 10, large_object_bytes=256 << 10)
    rng = random.Random(point)
    files = {("v", f"r{i}.csv"): f"{i},{rng.random()}\n".encode() * 50 for i in range(20)}
    files[("blobs", "b.bin")] = rng.randbytes(600 << 10)
    for (stream, name), data in files.items():
        agent.drop(f"{stream}/{name}", data)
    agent.start(env={"TRIBUTARY_EDGE_CRASH": point})
    code = agent.wait_exit(60)
    assert code == 137, f"crash point {point} not reached (exit {code})\n{agent.log_tail()}"
    agent.start()
    agent.wait_drained(60, acked=None)
    wait_until(lambda: len(arrivals(live_core, site.site)) >= len(files), 30, what="all arrivals")
    assert_exactly_once(live_core, site.site, files)
    assert not [p for p in agent.inbox.rglob("*") if p.is_file()]
    # A delivered object's spool file is unlinked just after the journal's acknowledging
    # transaction, which is what "drained" reads: give the unlink its moment (a file left for good
    # is still a failure).
    wait_until(lambda: not list((agent.spool / "objects").iterdir()), 10, what="the spool's object files removed")
    assert not list((agent.spool / "incoming").iterdir())


def test_kill9_at_random_moments(live_core, edge_factory):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token, chunk_bytes=256 << 10, large_object_bytes=1 << 20,
                         bandwidth_bytes_per_second=8 << 20)
    rng = random.Random(42)
    files: dict[tuple[str, str], bytes] = {}
    for round_ in range(6):
        for i in range(15):
            files[("v", f"r{round_}-{i}.csv")] = f"{round_},{i},{rng.random()}\n".encode() * rng.randint(1, 400)
        files[("blobs", f"b{round_}.bin")] = rng.randbytes(rng.randint(1, 4) << 20)
        for (stream, name), data in files.items():
            if name.startswith(f"r{round_}-") or name == f"b{round_}.bin":
                agent.drop(f"{stream}/{name}", data)
        agent.start()
        time.sleep(rng.uniform(0.1, 2.0))
        agent.kill()
    agent.start()
    agent.wait_drained(120)
    wait_until(lambda: len(arrivals(live_core, site.site)) >= len(files), 60, what="all arrivals")
    assert_exactly_once(live_core, site.site, files)


def test_core_killed_mid_upload_resumes_where_it_was(core_factory, edge_factory):
    core = core_factory()
    token = core.add_site("plant-k")
    agent = edge_factory(core.base, "plant-k", token, chunk_bytes=1 << 20, bandwidth_bytes_per_second=6 << 20)
    data = random.Random(9).randbytes(30 << 20)
    agent.drop("blobs/big.bin", data)
    agent.start()
    wait_until(lambda: ((agent.status().get("agent") or {}).get("in_flight") or {}).get("sent", 0) > 8 << 20, 30,
               what="8 MiB on the way")
    core.kill()
    wait_until(lambda: agent.status()["agent"]["link"]["state"] in ("backing-off", "down"), 30, what="link noticed down")
    core.start()
    agent.wait_drained(90, acked=1)
    assert_exactly_once(core, "plant-k", {("blobs", "big.bin"): data})
    assert "resuming an upload" in agent.log_text()


def test_a_spool_file_corrupted_on_disk_is_quarantined_not_sent(live_core, edge_factory, tmp_path):
    site = live_core.new_site("edge")
    agent = edge_factory(live_core.base, site.site, site.token)
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(b"t,v\n1,2\n")
    bad.write_bytes(b"t,v\n3,4\n")
    agent.put(good, bad, stream="v")
    [(rel,)] = agent.journal("SELECT file FROM objects WHERE name = 'bad.csv'")
    spooled = agent.spool / rel
    spooled.write_bytes(b"t,v\n3,5\n")  # bit rot: same size, other bytes
    agent.start()
    wait_until(lambda: agent.status()["counters"].get("quarantined_objects", 0) == 1, 30, what="the quarantine")
    agent.wait_drained(30, acked=1)
    s = agent.status()
    assert [(q["stream"], q["name"]) for q in s["quarantined"]] == [("v", "bad.csv")]
    assert "sha256" in s["quarantined"][0]["reason"]
    assert spooled.exists(), "a quarantined object stays on disk"
    assert_exactly_once(live_core, site.site, {("v", "good.csv"): b"t,v\n1,2\n"})
