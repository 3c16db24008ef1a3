"""Content dedup per site, and the have-check."""

import os
import threading

import pytest

from conftest import assert_error, expected_key, sha256_hex, upload_id_of


def test_same_content_twice_from_one_site_is_duplicate(live_core, site):
    data = os.urandom(20_000)
    sha = sha256_hex(data)
    url1, r1 = site.upload_object(data, "a.bin", stream="s")
    assert r1.status_code == 204, r1.text
    first = site.receipt(url1)["objects"][0]
    assert first["status"] == "stored"
    assert first["key"] == expected_key("s", site.site, "2026-11-21T10:00:00Z", "a.bin", sha)

    # Same name, same content.
    url2, r2 = site.upload_object(data, "a.bin", stream="s")
    assert r2.status_code == 204, r2.text
    second = site.receipt(url2)["objects"][0]
    assert second["status"] == "duplicate" and second["key"] == first["key"] and second["sha256"] == sha

    # Other name, other day, same content: still where the bytes already lie.
    url3, r3 = site.upload_object(data, "copy/b.bin", stream="s2", captured_at="2027-01-01T00:00:00Z")
    assert r3.status_code == 204, r3.text
    third = site.receipt(url3)["objects"][0]
    assert third["status"] == "duplicate" and third["key"] == first["key"]
    assert third["name"] == "copy/b.bin" and third["stream"] == "s2"

    assert live_core.lake_files(site.site) == [first["key"]]
    assert live_core.count("SELECT COUNT(*) FROM objects WHERE site = ? AND sha256 = ?", (site.site, sha)) == 1
    rows = live_core.query(
        "SELECT upload_id, status, key FROM arrivals WHERE site = ? AND sha256 = ? ORDER BY status DESC",
        (site.site, sha))
    assert sorted(rows) == sorted([(upload_id_of(url1), "stored", first["key"]),
                                   (upload_id_of(url2), "duplicate", first["key"]),
                                   (upload_id_of(url3), "duplicate", first["key"])])
    for u in (url1, url2, url3):
        assert upload_id_of(u) not in live_core.staging_entries()


def test_same_content_from_another_site_is_stored_in_its_partition(live_core, site, other_site):
    data = os.urandom(10_000)
    sha = sha256_hex(data)
    url_a, r = site.upload_object(data, "shared.bin", stream="s")
    assert r.status_code == 204
    url_b, r = other_site.upload_object(data, "shared.bin", stream="s")
    assert r.status_code == 204
    a = site.receipt(url_a)["objects"][0]
    b = other_site.receipt(url_b)["objects"][0]
    assert a["status"] == "stored" and b["status"] == "stored"
    assert f"/site={site.site}/" in a["key"] and f"/site={other_site.site}/" in b["key"]
    assert a["key"] != b["key"]
    assert live_core.read_lake(a["key"]) == data == live_core.read_lake(b["key"])
    assert live_core.lake_files(site.site) == [a["key"]]
    assert live_core.lake_files(other_site.site) == [b["key"]]


def test_have_check_answers_only_for_the_asking_site(live_core, site, other_site):
    mine = os.urandom(3000)
    theirs = os.urandom(3000)
    assert site.upload_object(mine, "m.bin", stream="s")[1].status_code == 204
    assert other_site.upload_object(theirs, "t.bin", stream="s")[1].status_code == 204
    unknown = sha256_hex(b"never uploaded " + os.urandom(8))
    ask = [sha256_hex(mine), sha256_hex(theirs), unknown]

    r = site.have(ask)
    assert r.status_code == 200, r.text
    assert r.json() == {"have": [sha256_hex(mine)]}
    r = other_site.have(ask)
    assert r.status_code == 200
    assert r.json() == {"have": [sha256_hex(theirs)]}
    r = site.have([])
    assert r.status_code == 200 and r.json() == {"have": []}


def test_have_check_limit(site):
    hashes = [f"{i:064x}" for i in range(10_000)]
    r = site.have(hashes)
    assert r.status_code == 200, r.text
    assert r.json() == {"have": []}
    assert_error(site.have(hashes + [f"{10_000:064x}"]), 400)


@pytest.mark.parametrize("body", [
    {"sha256": ["abc"]},
    {"sha256": ["AB" * 32]},
    {"sha256": ["zz" * 32]},
    {"sha256": ["ab" * 32 + "a"]},
    {"sha256": [123]},
    {"sha256": "ab" * 32},
    {"hashes": ["ab" * 32]},
    [],
    "not json",
], ids=["short", "upper", "nonhex", "long", "number", "not-list", "wrong-key", "array", "text"])
def test_have_check_rejects_malformed(site, body):
    if body == "not json":
        r = site.request("POST", "/v1/have", data=b"{not json", headers={"Content-Type": "application/json"})
    else:
        r = site.request("POST", "/v1/have", json=body)
    assert_error(r, 400)


def test_concurrent_commits_of_the_same_content_store_it_once(live_core, site):
    """Two uploads of one content committing at the same moment: one stored, one duplicate."""
    for round_ in range(3):
        data = os.urandom(200_000)
        sha = sha256_hex(data)
        urls = [site.create_ok(len(data), {"name": f"race-{round_}-{i}.bin", "stream": "s", "sha256": sha})
                for i in range(2)]
        for u in urls:
            assert site.patch(u, 0, data[:100_000]).status_code == 204
        barrier = threading.Barrier(2)
        answers = [None, None]

        def finish(i):
            client = live_core.client(site.token, site.site)  # own HTTP session per thread
            barrier.wait(timeout=10)
            answers[i] = client.patch(urls[i], 100_000, data[100_000:])

        threads = [threading.Thread(target=finish, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert all(a is not None and a.status_code == 204 for a in answers), answers
        objs = [site.receipt(u)["objects"][0] for u in urls]
        assert sorted(o["status"] for o in objs) == ["duplicate", "stored"], objs
        assert objs[0]["key"] == objs[1]["key"]
        assert live_core.read_lake(objs[0]["key"]) == data
        assert live_core.count("SELECT COUNT(*) FROM objects WHERE site = ? AND sha256 = ?", (site.site, sha)) == 1
    assert len(live_core.lake_files(site.site)) == 3


def test_binary_have_check_answers_a_bitmap(live_core, site, other_site):
    """`application/octet-stream`: raw 32-byte digests in, one bit per hash out (docs/PROTOCOL.md)."""
    mine = [os.urandom(2000) for _ in range(3)]
    for i, data in enumerate(mine):
        assert site.upload_object(data, f"m{i}.bin", stream="s")[1].status_code == 204
    theirs = os.urandom(2000)
    assert other_site.upload_object(theirs, "t.bin", stream="s")[1].status_code == 204
    ask = [sha256_hex(os.urandom(8)) for _ in range(9)] + [sha256_hex(theirs)]
    for i, data in zip((0, 8, 10), mine):
        ask.insert(i, sha256_hex(data))
    body = b"".join(bytes.fromhex(h) for h in ask)
    r = site.request("POST", "/v1/have", data=body, headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/octet-stream"
    bits = int.from_bytes(r.content, "little")
    assert len(r.content) == (len(ask) + 7) // 8
    assert [i for i in range(len(ask)) if bits >> i & 1] == [0, 8, 10]
    empty = site.request("POST", "/v1/have", data=b"", headers={"Content-Type": "application/octet-stream"})
    assert empty.status_code == 200 and empty.content == b""
    for bad in (body[:-1], b"\0" * 32 * 10_001):
        assert_error(site.request("POST", "/v1/have", data=bad, headers={"Content-Type": "application/octet-stream"}), 400)
