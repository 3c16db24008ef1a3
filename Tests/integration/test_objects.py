"""Single-object uploads: chunks, checksums, offsets, termination, commit, receipt, lake key."""

import base64
import hashlib
import os
import time

import requests

from conftest import (
    HTTP_TIMEOUT, OCTET, assert_error, expected_key, raw_patch_start, sha256_b64, sha256_hex,
    upload_id_of, wait_until, zstd_compress,
)

CAPTURED = "2026-03-01T23:30:00-05:00"  # a UTC date (2026-03-02) different from the local one


def test_chunked_upload_with_checksums_commits(live_core, site):
    data = os.urandom(300_000)
    sha = sha256_hex(data)
    url = site.create_ok(len(data), {"name": "runs/run 1.csv", "stream": "vibration",
                                     "sha256": sha, "captured-at": CAPTURED})
    upload_id = upload_id_of(url)
    chunks = [data[:100_000], data[100_000:250_000], data[250_000:]]
    offset = 0
    for i, chunk in enumerate(chunks):
        r = site.patch(url, offset, chunk, checksum=f"sha256 {sha256_b64(chunk)}")
        assert r.status_code == 204, r.text
        offset += len(chunk)
        assert int(r.headers["Upload-Offset"]) == offset
        if i < len(chunks) - 1:
            h = site.head(url)
            assert int(h.headers["Upload-Offset"]) == offset
            assert h.headers["Tributary-Upload-State"] == "receiving"
            assert_error(site.get(url), 409, "not_committed")
    assert r.headers.get("Tributary-Upload-State") == "committed"

    key = expected_key("vibration", site.site, CAPTURED, "runs/run 1.csv", sha)
    assert key.endswith(f"/runs/run_1.{sha[:16]}.csv") and "/date=2026-03-02/" in key
    first = site.get(url)
    assert first.status_code == 200
    receipt = first.json()
    assert receipt["upload_id"] == upload_id and receipt["site"] == site.site and receipt["kind"] == "object"
    assert receipt["committed_at"]
    assert receipt["objects"] == [{"stream": "vibration", "name": "runs/run 1.csv", "sha256": sha,
                                   "size": len(data), "status": "stored", "key": key}]
    for _ in range(3):
        again = site.get(url)
        assert again.status_code == 200 and again.content == first.content
    # The lake holds exactly these bytes under the key; staging is gone.
    assert live_core.lake_files(site.site) == [key]
    assert live_core.read_lake(key) == data
    assert upload_id not in live_core.staging_entries()
    h = site.head(url)
    assert h.status_code == 200 and h.headers["Tributary-Upload-State"] == "committed"
    assert int(h.headers["Upload-Offset"]) == len(data)
    # Catalog.
    rows = live_core.query("SELECT site, stream, name, sha256, size, key, status FROM arrivals WHERE upload_id = ?",
                           (upload_id,))
    assert rows == [(site.site, "vibration", "runs/run 1.csv", sha, len(data), key, "stored")]
    assert live_core.query("SELECT size, key FROM objects WHERE site = ? AND sha256 = ?", (site.site, sha)) == \
        [(len(data), key)]
    assert live_core.count("SELECT COUNT(*) FROM uploads WHERE upload_id = ? AND site = ? AND kind = 'object'",
                           (upload_id, site.site)) == 1
    lines = live_core.arrival_manifest_lines(upload_id)
    assert len(lines) == 1, lines
    # Idempotent re-commit; any other offset is a mismatch; a committed upload cannot be deleted.
    r = site.patch(url, len(data), b"")
    assert r.status_code == 204 and r.headers.get("Tributary-Upload-State") == "committed"
    assert_error(site.patch(url, 0, data[:10]), 409, "offset_mismatch")
    assert_error(site.delete(url), 409, "already_committed")
    assert site.get(url).content == first.content


def test_sha1_chunk_checksum_is_accepted(site):
    data = b"sha1 checksummed chunk\n"
    url = site.create_ok(len(data), {"name": "s1.txt", "stream": "s"})
    digest = base64.b64encode(hashlib.sha1(data).digest()).decode()
    r = site.patch(url, 0, data, checksum=f"sha1 {digest}")
    assert r.status_code == 204, r.text


def test_offset_mismatch_is_409(site):
    data = b"0123456789"
    url = site.create_ok(len(data), {"name": "o.bin", "stream": "s"})
    assert_error(site.patch(url, 5, data[5:]), 409, "offset_mismatch")
    assert site.patch(url, 0, data[:4]).status_code == 204
    assert_error(site.patch(url, 0, data[:4]), 409, "offset_mismatch")
    assert_error(site.patch(url, 6, data[6:]), 409, "offset_mismatch")
    assert_error(site.patch(url, 4, data[4:], headers={"Upload-Offset": "four"}), 400)
    assert site.offset(url) == 4
    assert site.patch(url, 4, data[4:]).status_code == 204


def test_bad_chunk_checksum_is_460_and_discarded(live_core, site):
    data = os.urandom(2000)
    url = site.create_ok(len(data), {"name": "c.bin", "stream": "s", "sha256": sha256_hex(data)})
    assert site.patch(url, 0, data[:1000], checksum=f"sha256 {sha256_b64(data[:1000])}").status_code == 204
    wrong = sha256_b64(b"something else")
    assert_error(site.patch(url, 1000, data[1000:], checksum=f"sha256 {wrong}"), 460, "checksum_mismatch")
    assert site.offset(url) == 1000
    # sha1 mismatch too.
    sha1_wrong = base64.b64encode(hashlib.sha1(b"nope").digest()).decode()
    assert_error(site.patch(url, 1000, data[1000:], checksum=f"sha1 {sha1_wrong}"), 460, "checksum_mismatch")
    assert site.offset(url) == 1000
    r = site.patch(url, 1000, data[1000:], checksum=f"sha256 {sha256_b64(data[1000:])}")
    assert r.status_code == 204, r.text
    assert r.headers["Tributary-Upload-State"] == "committed"
    key = site.receipt(url)["objects"][0]["key"]
    assert live_core.read_lake(key) == data


def test_unsupported_or_malformed_checksum_is_400(site):
    data = b"abcdef"
    url = site.create_ok(len(data), {"name": "u.bin", "stream": "s"})
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    assert_error(site.patch(url, 0, data, checksum=f"md5 {md5}"), 400, "unsupported_checksum")
    assert_error(site.patch(url, 0, data, checksum="sha256"), 400, {"bad_request", "unsupported_checksum"})
    assert_error(site.patch(url, 0, data, checksum="sha256 !!!notbase64!!!"), 400,
                 {"bad_request", "unsupported_checksum"})
    assert site.offset(url) == 0


def test_body_past_length_is_413_and_discarded(site):
    url = site.create_ok(10, {"name": "p.bin", "stream": "s"})
    assert site.patch(url, 0, b"01234").status_code == 204
    assert_error(site.patch(url, 5, b"56789X"), 413, "too_large")
    assert site.offset(url) == 5
    assert site.patch(url, 5, b"56789").status_code == 204


def test_wrong_content_type_is_415(site):
    url = site.create_ok(4, {"name": "ct.bin", "stream": "s"})
    assert_error(site.patch(url, 0, b"abcd", content_type="application/octet-stream"), 415, "unsupported_media_type")
    assert_error(site.patch(url, 0, b"abcd", content_type=None), 415, "unsupported_media_type")
    assert site.offset(url) == 0


def test_unknown_upload_is_404(live_core, site):
    for upload_id in ["0" * 32, "f" * 32, "nothex", "0" * 31, "..%2F..%2Fadmin.token", "%2e%2e"]:
        url = live_core.url(f"/v1/uploads/{upload_id}")
        assert_error(site.head(url), 404)
        assert_error(site.patch(url, 0, b"x"), 404, "not_found")
        assert_error(site.get(url), 404, "not_found")
        assert_error(site.delete(url), 404, "not_found")


def test_unknown_route_is_404_with_json_body(live_core, site):
    # "Every 4xx/5xx answer has a JSON body" (PROTOCOL.md, Errors) -- also for paths no route serves.
    for path in ["/v1/nothing", "/v1/uploads/abc/def", "/admin.token"]:
        assert_error(site.request("GET", path), 404)


def test_delete_terminates(live_core, site):
    url = site.create_ok(10, {"name": "d.bin", "stream": "s"})
    upload_id = upload_id_of(url)
    assert site.patch(url, 0, b"01234").status_code == 204
    assert upload_id in live_core.staging_entries()
    r = site.delete(url)
    assert r.status_code == 204 and r.headers.get("Tus-Resumable") == "1.0.0"
    assert upload_id not in live_core.staging_entries()
    assert_error(site.head(url), 404)
    assert_error(site.patch(url, 5, b"56789"), 404, "not_found")
    assert_error(site.get(url), 404, "not_found")
    assert_error(site.delete(url), 404, "not_found")
    assert live_core.lake_files(site.site) == []
    assert live_core.count("SELECT COUNT(*) FROM arrivals WHERE upload_id = ?", (upload_id,)) == 0


def test_zero_length_object_commits_at_creation(live_core, site):
    r = site.create(0, {"name": "empty.csv", "stream": "s", "captured-at": "2026-11-21T10:00:00Z"})
    assert r.status_code == 201, r.text
    assert r.headers.get("Tributary-Upload-State") == "committed"
    url = requests.compat.urljoin(live_core.base + "/", r.headers["Location"])
    receipt = site.receipt(url)
    sha = sha256_hex(b"")
    key = expected_key("s", site.site, "2026-11-21T10:00:00Z", "empty.csv", sha)
    assert receipt["objects"] == [{"stream": "s", "name": "empty.csv", "sha256": sha, "size": 0,
                                   "status": "stored", "key": key}]
    assert live_core.read_lake(key) == b""
    assert upload_id_of(url) not in live_core.staging_entries()


def test_default_captured_at_is_receive_time(live_core, site):
    data = b"no captured-at\n"
    url, r = site.upload_object(data, "now.txt", stream="s", captured_at=None)
    assert r.status_code == 204, r.text
    key = site.receipt(url)["objects"][0]["key"]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 120))
    assert f"/date={today}/" in key or f"/date={yesterday}/" in key, key


def test_zstd_encoded_object_is_stored_decoded(live_core, site):
    data = b"t,value\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(20000))
    body = zstd_compress(data)
    assert len(body) < len(data)
    url, r = site.upload_object(data, "series.csv", stream="temp", body=body, encoding="zstd", chunk=16384)
    assert r.status_code == 204, r.text
    obj = site.receipt(url)["objects"][0]
    sha = sha256_hex(data)
    assert obj["sha256"] == sha and obj["size"] == len(data) and obj["status"] == "stored"
    assert obj["key"] == expected_key("temp", site.site, "2026-11-21T10:00:00Z", "series.csv", sha)
    assert live_core.read_lake(obj["key"]) == data


def _assert_nothing_left(core, site, url, sha):
    upload_id = upload_id_of(url)
    assert_error(site.head(url), 404)
    assert_error(site.get(url), 404, "not_found")
    assert upload_id not in core.staging_entries()
    assert core.lake_files(site.site) == []
    assert core.count("SELECT COUNT(*) FROM arrivals WHERE upload_id = ?", (upload_id,)) == 0
    assert core.count("SELECT COUNT(*) FROM uploads WHERE upload_id = ?", (upload_id,)) == 0
    assert core.count("SELECT COUNT(*) FROM objects WHERE site = ? AND sha256 = ?", (site.site, sha)) == 0
    assert core.arrival_manifest_lines(upload_id) == []


def test_declared_sha256_mismatch_is_422_and_leaves_nothing(live_core, site):
    data = os.urandom(5000)
    url, r = site.upload_object(data, "lie.bin", stream="s", sha256=sha256_hex(b"other"), chunk=2000)
    assert_error(r, 422, "checksum_mismatch")
    _assert_nothing_left(live_core, site, url, sha256_hex(data))


def test_corrupt_zstd_object_is_422(live_core, site):
    data = b"hello zstd " * 1000
    body = bytearray(zstd_compress(data))
    body[len(body) // 2] ^= 0xFF
    body[-1] ^= 0xFF
    url, r = site.upload_object(data, "bad.txt", stream="s", body=bytes(body), encoding="zstd")
    assert_error(r, 422, {"corrupt_compression", "checksum_mismatch"})
    _assert_nothing_left(live_core, site, url, sha256_hex(data))


def test_truncated_zstd_object_is_422(live_core, site):
    data = os.urandom(4000) * 4
    body = zstd_compress(data)
    url, r = site.upload_object(data, "trunc.bin", stream="s", body=body[: len(body) - 10], encoding="zstd",
                                sha256=None)
    assert_error(r, 422, "corrupt_compression")
    _assert_nothing_left(live_core, site, url, sha256_hex(data))


def test_second_concurrent_patch_is_upload_busy(live_core, site):
    data = os.urandom(1000)
    url = site.create_ok(len(data), {"name": "busy.bin", "stream": "s"})
    sock = raw_patch_start(live_core, url, site.token, 0, len(data), data[:100])
    try:
        time.sleep(0.5)  # let the core start handling the first PATCH
        assert_error(site.patch(url, 0, data), 409, {"upload_busy", "offset_mismatch"})
        # Finish the first PATCH: it commits.
        sock.sendall(data[100:])
        sock.settimeout(10)
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 204"), answer
    finally:
        sock.close()
    assert site.receipt(url)["objects"][0]["size"] == len(data)


def _patch_when_not_busy(site, url, offset, body, **kw):
    """Retries a PATCH for up to 3 s while the core still finishes the cut one (409 upload_busy)."""
    def attempt():
        r = site.patch(url, offset, body, **kw)
        return None if (r.status_code == 409 and "upload_busy" in r.text) else r
    return wait_until(attempt, timeout=3, interval=0.2, what="PATCH not answered 409 upload_busy")


def test_cut_mid_body_without_checksum_keeps_received_bytes(live_core, site):
    data = os.urandom(100_000)
    url = site.create_ok(len(data), {"name": "cut.bin", "stream": "s", "sha256": sha256_hex(data)})
    sock = raw_patch_start(live_core, url, site.token, 0, len(data), data[:40_000])
    time.sleep(0.3)
    sock.close()
    # The core keeps (and fsyncs) what it received, as tus expects.
    wait_until(lambda: site.offset(url) == 40_000, timeout=5, what="HEAD offset 40000 after the cut")
    r = _patch_when_not_busy(site, url, 40_000, data[40_000:])
    assert r.status_code == 204, r.text
    key = site.receipt(url)["objects"][0]["key"]
    assert live_core.read_lake(key) == data


def test_cut_mid_body_with_checksum_keeps_nothing_of_the_chunk(live_core, site):
    data = os.urandom(100_000)
    url = site.create_ok(len(data), {"name": "cutsum.bin", "stream": "s"})
    assert site.patch(url, 0, data[:10_000]).status_code == 204
    chunk = data[10_000:]
    sock = raw_patch_start(live_core, url, site.token, 10_000, len(chunk), chunk[:30_000],
                           extra_headers={"Upload-Checksum": f"sha256 {sha256_b64(chunk)}"})
    time.sleep(0.3)
    sock.close()
    time.sleep(0.5)
    assert site.offset(url) == 10_000
    r = _patch_when_not_busy(site, url, 10_000, chunk, checksum=f"sha256 {sha256_b64(chunk)}")
    assert r.status_code == 204, r.text
