"""S3 lake, large objects (issue 14): the parts of an object that are durable in staging are
shipped to its final key while the upload is still being received, so the commit sends only the
tail; a duplicate aborts what was shipped; a kill -9 mid-upload and a resume still land exactly
one correct object. Real SeaweedFS and PostgreSQL; one core for the whole file (5 MiB parts,
multipart from 6 MiB).
"""

from __future__ import annotations

import hashlib

import pytest

from backend_pairs import S3Postgres, object_keys
from conftest import sha256_hex, wait_until
from fleetkit import metrics

pytestmark = pytest.mark.timeout(240)

MIB = 1 << 20
SIZE = 24 * MIB  # parts of 5 MiB: four whole ones and a 4 MiB tail


def payload(seed: str, size: int = SIZE) -> bytes:
    block = b"".join(hashlib.sha256(f"{seed}-{i}".encode()).digest() for i in range(32 * 1024))  # 1 MiB
    return (block * (size // len(block) + 1))[:size]


def parts(core, when: str) -> float:
    return metrics(core).value("tributary_core_s3_parts_total", when=when) or 0


def aborted(core, reason: str) -> float:
    return metrics(core).value("tributary_core_s3_multipart_aborted_total", reason=reason) or 0


def open_multipart_uploads(weed, core) -> list:
    r = weed.client().list_multipart_uploads(Bucket=weed.bucket, Prefix=core.lake_prefix + "/")
    return r.get("Uploads", [])


def create(site, data: bytes, name: str) -> str:
    return site.create_ok(len(data), {"name": name, "stream": "vibration", "sha256": sha256_hex(data),
                                      "captured-at": "2026-11-21T10:00:00Z"})


def send(site, url: str, data: bytes, start: int, end: int, chunk: int = 5 * MIB) -> None:
    offset = start
    while offset < end:
        body = data[offset:min(offset + chunk, end)]
        r = site.patch(url, offset, body)
        assert r.status_code == 204, f"PATCH at {offset}: {r.status_code} {r.text}"
        offset += len(body)


@pytest.fixture(scope="module")
def s3core(tmp_path_factory, real_backends):
    from conftest import CoreServer

    pg, weed = real_backends
    core = CoreServer(tmp_path_factory.mktemp("s3pipe") / "data", backend=S3Postgres(pg, weed, multipart_threshold=6 * MIB))
    core.start()
    yield core, weed
    assert core.stop() == 0


def test_parts_ship_while_receiving_and_a_duplicate_aborts(s3core):
    core, weed = s3core
    site = core.new_site("pipe")
    data = payload("first")
    url = create(site, data, "big.bin")
    before = (parts(core, "receiving"), parts(core, "commit"))
    send(site, url, data, 0, 20 * MIB)
    # The four whole parts durable so far go up in the background, before any commit.
    wait_until(lambda: parts(core, "receiving") >= before[0] + 4, 60, what="4 parts shipped while receiving")
    assert object_keys(core.backend, core, site.site) == [], "nothing is visible before the commit"
    assert len(open_multipart_uploads(weed, core)) == 1
    r = site.patch(url, 20 * MIB, data[20 * MIB:])
    assert r.status_code == 204, r.text
    # Each of the 5 parts was sent once; the 4 MiB tail by the pipeline (the final PATCH made it
    # durable) or by the commit, whichever came first.
    assert parts(core, "receiving") + parts(core, "commit") == sum(before) + 5
    receipt = site.receipt(url)
    [o] = receipt["objects"]
    assert o["status"] == "stored"
    assert core.read_lake(o["key"]) == data
    assert open_multipart_uploads(weed, core) == []

    # The same content again under another name: a duplicate at commit; its shipped parts are aborted.
    dup = create(site, data, "again.bin")
    first = parts(core, "receiving")
    send(site, dup, data, 0, 20 * MIB)
    wait_until(lambda: parts(core, "receiving") >= first + 4, 60, what="the duplicate's parts shipped")
    dup_aborts = aborted(core, "duplicate")
    r = site.patch(dup, 20 * MIB, data[20 * MIB:])
    assert r.status_code == 204, r.text
    assert [x["status"] for x in site.receipt(dup)["objects"]] == ["duplicate"]
    wait_until(lambda: aborted(core, "duplicate") == dup_aborts + 1, 30, what="the duplicate's multipart upload aborted")
    wait_until(lambda: open_multipart_uploads(weed, core) == [], 30, what="no multipart upload left open")
    assert object_keys(core.backend, core, site.site) == [o["key"]], "one object for the content"


def test_kill_mid_upload_then_resume_lands_one_object(s3core):
    core, weed = s3core
    site = core.new_site("pipekill")
    data = payload("killed")
    url = create(site, data, "crash.bin")
    shipped = parts(core, "receiving")
    send(site, url, data, 0, 15 * MIB)
    wait_until(lambda: parts(core, "receiving") >= shipped + 3, 60, what="3 parts shipped while receiving")
    core.kill()
    core.start()
    assert site.offset(url) == 15 * MIB
    # The restarted core adopts the recorded multipart upload: parts 1-3 are not sent again.
    send(site, url, data, 15 * MIB, 20 * MIB)
    r = site.patch(url, 20 * MIB, data[20 * MIB:])
    assert r.status_code == 204, r.text
    assert parts(core, "receiving") + parts(core, "commit") == 2, "only parts 4 and 5 after the restart"
    [o] = site.receipt(url)["objects"]
    assert o["status"] == "stored"
    assert core.read_lake(o["key"]) == data
    assert object_keys(core.backend, core, site.site) == [o["key"]]
    assert open_multipart_uploads(weed, core) == []
    assert list((core.data_dir / "s3-multipart").glob("*.json")) == []
