"""Edge S3 source (issue 12): an agent takes the objects of a bucket (SeaweedFS, written with
boto3) into its spool and ships them exactly once — including objects added while the agent is
down, one added "behind" everything listed before, and objects overwritten with new content —
and with `after = "delete"` removes them from the bucket only after the core's receipt."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from backends import SeaweedFS
from conftest import CoreServer, wait_until
from edgekit import arrivals, edge_factory  # noqa: F401

BUCKET = "site-data"


@pytest.fixture(scope="module")
def weed(tmp_path_factory):
    w = SeaweedFS(tmp_path_factory.mktemp("weed"), bucket=BUCKET).start()
    yield w
    w.cleanup()


@pytest.fixture
def own_core(tmp_path):
    core = CoreServer(tmp_path / "core")
    core.start()
    yield core
    if core.alive:
        assert core.stop() == 0, core.log_tail()


def source_toml(weed: SeaweedFS, name: str, prefix: str, after: str) -> str:
    return f"""
[[source]]
name = "{name}"
type = "s3"
endpoint = "{weed.endpoint}"
bucket = "{BUCKET}"
prefix = "{prefix}"
poll_seconds = 1
after = "{after}"
"""


def versions(core: CoreServer, site: str) -> list[tuple[str, str, str]]:
    return sorted((a["stream"], a["name"], a["sha256"]) for a in arrivals(core, site))


def expected(objects: dict[str, bytes], prefix: str) -> list[tuple[str, str, str]]:
    out = []
    for key, data in objects.items():
        stream, name = key[len(prefix) + 1:].split("/", 1)
        out.append((stream, name, hashlib.sha256(data).hexdigest()))
    return sorted(out)


def keys_under(s3, prefix: str) -> set[str]:
    found, token = set(), None
    while True:
        kw = {"Bucket": BUCKET, "Prefix": prefix + "/"}
        if token:
            kw["ContinuationToken"] = token
        r = s3.list_objects_v2(**kw)
        found |= {o["Key"] for o in r.get("Contents", [])}
        if not r.get("IsTruncated"):
            return found
        token = r["NextContinuationToken"]


def test_objects_ship_exactly_once_across_restarts_and_overwrites(weed, own_core, edge_factory):
    s3 = weed.client()
    site = own_core.new_site("s3keep")
    prefix = "keep"
    shipped: dict[str, bytes] = {}  # every version that must arrive, by key (a list for overwrites below)
    all_versions: list[tuple[str, str, str]] = []

    def put(key: str, data: bytes):
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        shipped[key] = data
        all_versions.extend(expected({key: data}, prefix))

    for i in range(30):
        put(f"{prefix}/vibration/2026/v{i:03d}.csv", f"t,v\n{i},{i * 0.5}\n".encode())
    put(f"{prefix}/cams/m/frame.bin", bytes(range(256)) * 4000)  # 1 MB, its own upload
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/vibration/", Body=b"")  # a folder marker: skipped
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/vibration/.partial", Body=b"x")  # hidden: skipped
    s3.put_object(Bucket=BUCKET, Key="elsewhere/vibration/x.csv", Body=b"not ours")  # outside the prefix

    agent = edge_factory(own_core.base, site.site, site.token)
    agent.extra_toml = source_toml(weed, "plant", prefix, "keep")
    agent.write_config()
    agent.start(env=weed.env())
    wait_until(lambda: len(arrivals(own_core, site.site)) >= 31, 60, 0.3, "the bucket's objects to arrive")
    assert versions(own_core, site.site) == sorted(all_versions)
    agent.stop()

    # While the agent is down: new objects (one sorting before everything listed so far), and two
    # objects overwritten with new content.
    put(f"{prefix}/aaa/first.csv", b"behind the cursor\n")
    for i in range(5):
        put(f"{prefix}/vibration/2026/w{i:03d}.csv", f"late {i}\n".encode())
    put(f"{prefix}/vibration/2026/v003.csv", b"t,v\n3,overwritten\n")
    put(f"{prefix}/cams/m/frame.bin", bytes(range(255, -1, -1)) * 4000)
    agent.start(env=weed.env())
    wait_until(lambda: len(arrivals(own_core, site.site)) >= len(all_versions), 60, 0.3, "the new versions to arrive")
    # Several more polls: nothing is shipped again.
    time.sleep(3)
    assert versions(own_core, site.site) == sorted(all_versions)
    # And not after another restart either (the cursor is durable).
    agent.stop()
    agent.start(env=weed.env())
    time.sleep(3)
    assert versions(own_core, site.site) == sorted(all_versions)
    assert all(a["status"] == "stored" for a in arrivals(own_core, site.site))
    # keep: everything is still in the bucket.
    assert keys_under(s3, prefix) >= set(shipped)
    status = agent.status()
    assert status["counters"].get("source_failures", 0) == 0, agent.log_tail()


def test_after_delete_removes_objects_only_once_the_core_has_receipted_them(weed, own_core, edge_factory):
    s3 = weed.client()
    site = own_core.new_site("s3del")
    prefix = "del"
    objects = {f"{prefix}/alarms/a{i:02d}.json": f'{{"alarm": {i}}}'.encode() for i in range(12)}
    own_core.stop()  # no receipts for now
    for key, data in objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    agent = edge_factory(own_core.base, site.site, site.token)
    agent.extra_toml = source_toml(weed, "outbox", prefix, "delete")
    agent.write_config()
    agent.start(env=weed.env())
    # Taken into the spool (durable there) but not delivered: they stay in the bucket.
    wait_until(lambda: agent.journal("SELECT COUNT(*) FROM objects")[0][0] == len(objects), 30, 0.2, "the objects to be spooled")
    time.sleep(3)  # three polls
    assert keys_under(s3, prefix) == set(objects)
    assert agent.journal("SELECT COUNT(*) FROM source_objects WHERE state = 'taken'")[0][0] == len(objects)
    # Overwritten before its receipt: this version must not be deleted (the new one ships too).
    changed = f"{prefix}/alarms/a00.json"
    s3.put_object(Bucket=BUCKET, Key=changed, Body=b'{"alarm": 0, "again": true}')
    own_core.start()
    wait_until(lambda: keys_under(s3, prefix) == set(), 60, 0.3, "the delivered objects to leave the bucket")
    got = versions(own_core, site.site)
    want = expected(objects, prefix) + expected({changed: b'{"alarm": 0, "again": true}'}, prefix)
    assert got == sorted(want)
    assert agent.journal("SELECT COUNT(*) FROM source_objects")[0][0] == 0
    assert agent.status()["counters"].get("source_objects_deleted", 0) == len(objects)
