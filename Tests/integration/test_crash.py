"""Crashes (SIGKILL) mid-upload and mid-commit, and graceful shutdown (SIGTERM)."""

import os
import threading
import time

import pytest
import requests

from conftest import (
    Entry, make_segment, raw_patch_start, sha256_b64, sha256_hex, upload_id_of, wait_closed, wait_until,
)


def assert_exactly_once(core, site, upload_id, receipt):
    """Each object of the receipt is in the lake once, in the catalog once, in manifests once."""
    objs = receipt["objects"]
    stored = {o["key"] for o in objs}
    assert core.lake_files(site.site) == sorted(stored)
    for o in objs:
        assert core.count("SELECT COUNT(*) FROM objects WHERE site = ? AND sha256 = ?", (site.site, o["sha256"])) == 1
    assert core.count("SELECT COUNT(*) FROM arrivals WHERE upload_id = ?", (upload_id,)) == len(objs)
    assert core.count("SELECT COUNT(*) FROM arrivals WHERE site = ?", (site.site,)) == len(objs)
    assert core.count("SELECT COUNT(*) FROM uploads WHERE upload_id = ?", (upload_id,)) == 1
    assert len(core.arrival_manifest_lines(upload_id)) == len(objs)
    assert upload_id not in core.staging_entries()


def test_kill_mid_upload_keeps_acknowledged_chunks(core_factory):
    core = core_factory()
    site = core.new_site()
    chunk = 256 * 1024
    data = os.urandom(4 * chunk)
    url = site.create_ok(len(data), {"name": "crash.bin", "stream": "s", "sha256": sha256_hex(data)})
    for i in range(2):
        body = data[i * chunk:(i + 1) * chunk]
        assert site.patch(url, i * chunk, body, checksum=f"sha256 {sha256_b64(body)}").status_code == 204
    core.kill()
    core.start()
    h = site.head(url)
    assert h.status_code == 200
    assert int(h.headers["Upload-Offset"]) == 2 * chunk
    assert h.headers["Tributary-Upload-State"] == "receiving"
    r = site.send_all(url, data, chunk, start=2 * chunk)
    assert r.status_code == 204, r.text
    receipt = site.receipt(url)
    assert receipt["objects"][0]["status"] == "stored"
    assert core.read_lake(receipt["objects"][0]["key"]) == data
    assert_exactly_once(core, site, upload_id_of(url), receipt)


def _object_upload(site):
    data = os.urandom(300_000)
    url = site.create_ok(len(data), {"name": "commit.bin", "stream": "s", "sha256": sha256_hex(data)})
    return url, data, [data]


def _segment_upload(site):
    entries = [Entry("s", f"part-{i}.csv", os.urandom(50_000)) for i in range(3)]
    seg = make_segment(entries)
    url = site.create_ok(len(seg), {"kind": "segment", "sha256": sha256_hex(seg)})
    return url, seg, [e.data for e in entries]


@pytest.mark.parametrize("kind", ["object", "segment"])
@pytest.mark.parametrize("failpoint", ["commit.after-lake", "commit.after-catalog"])
def test_kill_mid_commit_commits_exactly_once(core_factory, failpoint, kind):
    core = core_factory(env={"TRIBUTARY_FAILPOINTS": f"{failpoint}=sleep:5000"})
    site = core.new_site()
    url, body, contents = (_object_upload if kind == "object" else _segment_upload)(site)
    cut = len(body) // 2
    assert site.patch(url, 0, body[:cut]).status_code == 204

    result: dict = {}

    def final_patch():
        try:
            result["response"] = site.patch(url, cut, body[cut:])
        except requests.RequestException as e:  # the kill cuts it
            result["error"] = e

    t = threading.Thread(target=final_patch, daemon=True)
    t.start()
    t.join(timeout=1.5)
    assert t.is_alive(), f"final PATCH returned before the failpoint: {result}"
    core.kill()
    t.join(timeout=10)
    assert "response" not in result, f"final PATCH answered although the core was killed: {result}"

    core.env.pop("TRIBUTARY_FAILPOINTS")  # restart without the failpoint
    core.start()
    h = site.head(url)
    assert h.status_code == 200, h.status_code
    assert int(h.headers["Upload-Offset"]) == len(body)
    assert h.headers["Tributary-Upload-State"] in ("complete", "committed")
    # The client finishes: an empty PATCH at offset == length commits (or confirms) the upload.
    r = site.patch(url, len(body), b"")
    assert r.status_code == 204, r.text
    assert r.headers.get("Tributary-Upload-State") == "committed"
    receipt = site.receipt(url)
    assert site.get(url).content == site.get(url).content
    assert [o["sha256"] for o in receipt["objects"]] == [sha256_hex(c) for c in contents]
    assert all(o["status"] == "stored" for o in receipt["objects"])
    for o, c in zip(receipt["objects"], contents):
        assert core.read_lake(o["key"]) == c
    assert_exactly_once(core, site, upload_id_of(url), receipt)

    # A clean restart changes nothing.
    core.restart()
    assert site.get(url).json() == receipt
    assert_exactly_once(core, site, upload_id_of(url), receipt)


def test_startup_recovery_commits_complete_uploads(core_factory):
    """Killed during commit and restarted: the core commits the staged upload by itself."""
    core = core_factory(env={"TRIBUTARY_FAILPOINTS": "commit.after-lake=sleep:5000"})
    site = core.new_site()
    data = os.urandom(10_000)
    url = site.create_ok(len(data), {"name": "recover.bin", "stream": "s", "sha256": sha256_hex(data)})
    t = threading.Thread(target=lambda: _swallow(lambda: site.patch(url, 0, data)), daemon=True)
    t.start()
    t.join(timeout=1.5)
    assert t.is_alive()
    core.kill()
    t.join(timeout=10)
    core.env.pop("TRIBUTARY_FAILPOINTS")  # restart without the failpoint
    core.start()
    wait_until(lambda: site.get(url).status_code == 200, timeout=10, what="startup recovery to commit the upload")
    receipt = site.receipt(url)
    assert_exactly_once(core, site, upload_id_of(url), receipt)


def _swallow(fn):
    try:
        fn()
    except requests.RequestException:
        pass


def test_sigterm_exits_zero(core_factory):
    core = core_factory()
    site = core.new_site()
    assert site.upload_object(b"bye\n", "bye.csv", stream="s")[1].status_code == 204
    # An idle keep-alive connection must not hold up shutdown.
    keep = requests.Session()
    assert keep.get(core.url("/healthz"), timeout=5).status_code == 200
    url = site.create_ok(100, {"name": "half.bin", "stream": "s"})
    assert site.patch(url, 0, b"x" * 50).status_code == 204
    started = time.monotonic()
    code = core.stop(timeout=10)
    assert code == 0
    assert time.monotonic() - started < 10
    keep.close()
    # The half-done upload survives a graceful restart.
    core.start()
    assert site.offset(url) == 50


def test_sigterm_with_a_stalled_upload_in_flight_exits_promptly(core_factory):
    """A client that went silent mid-PATCH must not hold up shutdown until the idle timeout."""
    core = core_factory(args=["--idle-timeout", "60"])
    site = core.new_site()
    data = os.urandom(1000)
    url = site.create_ok(len(data), {"name": "stalled.bin", "stream": "s"})
    sock = raw_patch_start(core, url, site.token, 0, len(data), data[:10])
    try:
        time.sleep(0.5)
        started = time.monotonic()
        code = core.stop(timeout=10)
        assert code == 0
        assert time.monotonic() - started < 10
        assert wait_closed(sock, 2)[0]
    finally:
        sock.close()
    core.start()
    assert site.offset(url) in (0, 10)
