"""Segments: many objects in one zstd-compressed tar with a manifest first."""

import io
import json
import os
import tarfile

import pytest

from conftest import (
    Entry, assert_error, expected_key, make_segment, make_tar, sha256_hex, upload_id_of, zstd_compress,
)

T0 = "2026-11-21T10:00:00Z"


def csv_rows(n: int, seed: int) -> bytes:
    return b"t,v\n" + b"".join(b"%d,%d\n" % (i, (i * seed) % 9973) for i in range(n))


def test_valid_segment_lands(live_core, site):
    held = os.urandom(4096)
    url0, r = site.upload_object(held, "earlier.bin", stream="raw")
    assert r.status_code == 204
    held_key = site.receipt(url0)["objects"][0]["key"]

    long_name = "deep/" + "n" * 120 + ".csv"  # needs a pax path record
    entries = [
        Entry("vibration", "a.csv", csv_rows(5000, 3)),
        Entry("vibration", "b.json", json.dumps({"k": list(range(300))}).encode(), captured_at="2026-11-20T23:59:59.5Z"),
        Entry("raw", "again.bin", held, ref=True),
        Entry("temp", "sub dir/x y.csv", csv_rows(100, 7), captured_at="2026-11-22T01:00:00+02:00"),
        Entry("temp", long_name, csv_rows(10, 11)),
        Entry("temp", "données/é.csv", b"unicode name\n"),
        Entry("vibration", "empty.csv", b""),
    ]
    seg = make_segment(entries, frames=3, trailing=b"\0" * 4096)
    url, r = site.upload_segment(seg, chunk=4096 if len(seg) < 40_000 else 16384)
    assert r.status_code == 204, r.text
    assert r.headers.get("Tributary-Upload-State") == "committed"
    receipt = site.receipt(url)
    assert receipt["kind"] == "segment" and receipt["site"] == site.site
    assert receipt["upload_id"] == upload_id_of(url)
    objs = receipt["objects"]
    assert [(o["stream"], o["name"]) for o in objs] == [(e.stream, e.name) for e in entries]
    for e, o in zip(entries, objs):
        sha = sha256_hex(e.data)
        assert o["sha256"] == sha and o["size"] == len(e.data)
        if e.ref:
            assert o["status"] == "duplicate" and o["key"] == held_key
        else:
            assert o["status"] == "stored"
            assert o["key"] == expected_key(e.stream, site.site, e.captured_at, e.name, sha)
            assert live_core.read_lake(o["key"]) == e.data
    assert "stream=temp/site=%s/date=2026-11-21/sub_dir/x_y." % site.site in objs[3]["key"]
    assert sorted(live_core.lake_files(site.site)) == sorted({o["key"] for o in objs})
    upload_id = upload_id_of(url)
    assert upload_id not in live_core.staging_entries()
    rows = live_core.query("SELECT seq, stream, name, sha256, size, key, status FROM arrivals WHERE upload_id = ? ORDER BY seq",
                           (upload_id,))
    assert [(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows] == \
        [(o["stream"], o["name"], o["sha256"], o["size"], o["key"], o["status"]) for o in objs]
    assert len(live_core.arrival_manifest_lines(upload_id)) == len(entries)
    # The have-check now knows every object of the segment.
    r = site.have([sha256_hex(e.data) for e in entries])
    assert sorted(r.json()["have"]) == sorted({sha256_hex(e.data) for e in entries})


def test_segment_without_sha256_metadata_and_in_one_patch(site):
    entries = [Entry("s", "one.csv", b"1\n"), Entry("s", "two.csv", b"2\n")]
    url, r = site.upload_segment(make_segment(entries), sha256=None, chunk=1 << 20)
    assert r.status_code == 204, r.text
    assert [o["status"] for o in site.receipt(url)["objects"]] == ["stored", "stored"]


def compact_manifest(entries):
    """A version-2 manifest: no sha256 on the entries that carry bytes, `ref` only when true."""
    objects = []
    for e in entries:
        m = e.manifest()
        if not e.ref:
            del m["sha256"], m["ref"]
        objects.append(m)
    return {"format": "tributary-segment", "version": 2, "objects": objects}


def test_compact_manifest_segment_lands_with_the_cores_own_hashes(live_core, site):
    held = os.urandom(2048)
    _, r = site.upload_object(held, "held.bin", stream="raw")
    assert r.status_code == 204
    entries = [Entry("s", "a.csv", csv_rows(300, 5), captured_at=T0), Entry("raw", "again.bin", held, ref=True),
               Entry("s", "e.csv", b"")]
    url, r = site.upload_segment(make_segment(entries, manifest=compact_manifest(entries)))
    assert r.status_code == 204, r.text
    objs = site.receipt(url)["objects"]
    assert [(o["name"], o["sha256"], o["size"], o["status"]) for o in objs] == \
        [(e.name, sha256_hex(e.data), len(e.data), "duplicate" if e.ref else "stored") for e in entries]
    assert live_core.read_lake(objs[0]["key"]) == entries[0].data
    # A member whose bytes differ from a sha256 the version-2 entry does list is still refused.
    wrong = compact_manifest([entries[0]])
    wrong["objects"][0]["sha256"] = sha256_hex(b"other")
    url, r = site.upload_segment(make_segment([entries[0]], manifest=wrong))
    assert_error(r, 422, "checksum_mismatch")


def test_segment_body_sha256_mismatch_is_422(live_core, site):
    entries = [Entry("s", "one.csv", b"1\n")]
    url, r = site.upload_segment(make_segment(entries), sha256=sha256_hex(b"not the body"))
    assert_error(r, 422, "checksum_mismatch")
    assert_nothing_of(live_core, site, url, entries, lake_before=[])


def assert_nothing_of(core, site, url, entries, lake_before):
    upload_id = upload_id_of(url)
    assert_error(site.head(url), 404)
    assert_error(site.get(url), 404, "not_found")
    assert upload_id not in core.staging_entries()
    assert core.lake_files(site.site) == lake_before
    assert core.count("SELECT COUNT(*) FROM arrivals WHERE upload_id = ?", (upload_id,)) == 0
    assert core.count("SELECT COUNT(*) FROM uploads WHERE upload_id = ?", (upload_id,)) == 0
    for e in entries:
        if not e.ref:
            assert core.count("SELECT COUNT(*) FROM objects WHERE site = ? AND sha256 = ?",
                              (site.site, sha256_hex(e.data))) == 0, e.name
    assert core.arrival_manifest_lines(upload_id) == []


A = Entry("s", "a.csv", b"a,1\n" * 50)
B = Entry("s", "b.csv", b"b,2\n" * 60)
C = Entry("t", "c.json", b'{"c":3}\n' * 70)
NEVER = os.urandom(64)  # content no site ever uploads


def manifest_of(entries, **over):
    m = {"format": "tributary-segment", "version": 1, "objects": [e.manifest() for e in entries]}
    m.update(over)
    return m


REJECTIONS = {
    "truncated-zstd": (dict(entries=[A, B, C], corrupt="truncate"), "corrupt_compression"),
    "corrupt-zstd-magic": (dict(entries=[A, B, C], corrupt="magic"), "corrupt_compression"),
    "corrupt-zstd-checksum": (dict(entries=[A, B, C], corrupt="checksum"), "corrupt_compression"),
    "manifest-not-first": (dict(entries=[A, B, C], manifest_position=1), "corrupt_segment"),
    "manifest-missing": (dict(entries=[A, B, C], manifest_position=None), "corrupt_segment"),
    "manifest-not-json": (dict(entries=[A, B], manifest=b"{not json"), "corrupt_segment"),
    "manifest-empty": (dict(entries=[], manifest=manifest_of([])), "corrupt_segment"),
    "manifest-wrong-format": (dict(entries=[A], manifest=manifest_of([A], format="zip")), "corrupt_segment"),
    "manifest-wrong-version": (dict(entries=[A], manifest=manifest_of([A], version=3)), "corrupt_segment"),
    "manifest-v1-without-sha256": (dict(entries=[A], manifest=manifest_of([A], objects=[
        {k: v for k, v in A.manifest().items() if k != "sha256"}])), "corrupt_segment"),
    "manifest-bad-sha256": (dict(entries=[Entry("s", "a.csv", A.data, sha256="XYZ")]), "corrupt_segment"),
    "member-size-mismatch": (dict(entries=[A, Entry("s", "b.csv", B.data, size=len(B.data) + 1), C]),
                             "size_mismatch"),
    "member-sha256-mismatch": (dict(entries=[A, Entry("s", "b.csv", B.data, sha256=sha256_hex(b"x")), C]),
                               "checksum_mismatch"),
    "missing-member-middle": (dict(entries=[A, B, C], omit=["s/b.csv"]), "manifest_mismatch"),
    "missing-member-last": (dict(entries=[A, B, C], omit=["t/c.json"]), "manifest_mismatch"),
    "extra-member": (dict(entries=[A, B], extra=[("s/zzz.csv", b"extra\n")]), "manifest_mismatch"),
    "member-for-ref-entry": (dict(entries=[A, Entry("s", "r.bin", NEVER, ref=True)],
                                  extra=[("s/r.bin", NEVER)]), {"manifest_mismatch", "unknown_reference"}),
    "reordered-members": (dict(entries=[A, B, C], order=["s/b.csv", "s/a.csv", "t/c.json"]), "manifest_mismatch"),
    "renamed-member": (dict(entries=[A, B], order=["s/a.csv", "s/B.csv"], member_data={"s/B.csv": B.data}),
                       "manifest_mismatch"),
    "duplicate-names": (dict(entries=[A, Entry("s", "a.csv", b"other bytes\n")]), "duplicate_name"),
    "unknown-ref": (dict(entries=[A, Entry("s", "ghost.bin", NEVER, ref=True)]), "unknown_reference"),
    "manifest-over-16MiB": (dict(entries=[A], manifest=b" " * (16 * 1024 * 1024 + 1)), "corrupt_segment"),
    "no-end-marker": (dict(entries=[A, B], end_marker=False), "corrupt_segment"),
    "garbage-after-end": (dict(entries=[A, B], trailing=b"\0" * 512 + b"garbage" + b"\0" * 505), "corrupt_segment"),
    # Bad names in the manifest: PROTOCOL.md says the whole upload is rejected with 422.
    "manifest-bad-name": (dict(entries=[Entry("s", "../escape.csv", b"x")], order=["s/../escape.csv"],
                               member_data={"s/../escape.csv": b"x"}), {"invalid_name", "corrupt_segment"}),
    "manifest-bad-stream": (dict(entries=[Entry("bad stream", "a.csv", b"x")]), {"invalid_stream", "corrupt_segment"}),
    "manifest-bad-timestamp": (dict(entries=[Entry("s", "a.csv", b"x", captured_at="noon")]),
                               {"invalid_timestamp", "corrupt_segment"}),
}


@pytest.mark.parametrize("case", list(REJECTIONS), ids=list(REJECTIONS))
def test_broken_segment_is_rejected_whole(live_core, site, case):
    kwargs, codes = REJECTIONS[case]
    # The site holds some content already, so "nothing of it" is checked against a non-empty lake.
    url0, r = site.upload_object(b"pre-existing\n", "pre.csv", stream="s")
    assert r.status_code == 204
    lake_before = live_core.lake_files(site.site)
    entries = kwargs["entries"]
    seg = make_segment(**kwargs)
    url, r = site.upload_segment(seg, chunk=1024)
    assert_error(r, 422, codes)
    assert_nothing_of(live_core, site, url, entries, lake_before)


def test_ref_to_content_only_another_site_has_is_unknown(live_core, site, other_site):
    theirs = os.urandom(2048)
    assert other_site.upload_object(theirs, "theirs.bin", stream="s")[1].status_code == 204
    entries = [A, Entry("s", "theirs.bin", theirs, ref=True)]
    url, r = site.upload_segment(make_segment(entries))
    assert_error(r, 422, "unknown_reference")
    assert_nothing_of(live_core, site, url, [A], [])


def test_non_regular_member_is_rejected(live_core, site):
    man = json.dumps(manifest_of([A])).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        info = tarfile.TarInfo("tributary-manifest.json")
        info.size = len(man)
        tf.addfile(info, io.BytesIO(man))
        link = tarfile.TarInfo("s/a.csv")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    url, r = site.upload_segment(zstd_compress(buf.getvalue()))
    assert_error(r, 422, {"corrupt_segment", "manifest_mismatch"})
    assert_nothing_of(live_core, site, url, [A], [])


def test_segment_from_python_tarfile_writer(live_core, site):
    """A stock tar writer (with its 10 KiB record padding) produces an accepted segment."""
    entries = [Entry("s", "p.csv", b"p\n" * 10), Entry("s", "q.csv", b"q\n" * 20)]
    man = json.dumps(manifest_of(entries)).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, data in [("tributary-manifest.json", man)] + [(e.member, e.data) for e in entries]:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    url, r = site.upload_segment(zstd_compress(buf.getvalue()))
    assert r.status_code == 204, r.text
    assert [o["status"] for o in site.receipt(url)["objects"]] == ["stored", "stored"]


def test_zstd_cli_lists_a_segment(tmp_path):
    """The segment format is what the docs say: `zstd -dc SEG | tar -tv` lists it."""
    import subprocess
    seg = tmp_path / "seg.tar.zst"
    seg.write_bytes(make_segment([A, B, C]))
    out = subprocess.run(f"zstd -dc {seg} | tar -t", shell=True, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["tributary-manifest.json", "s/a.csv", "s/b.csv", "t/c.json"]


def compact_digest(objects: list[dict]) -> tuple[list[int], str]:
    """The compact receipt's canonical order and digest (docs/PROTOCOL.md, "Compact receipts"), written
    independently of the Swift code."""
    order = sorted(range(len(objects)), key=lambda i: (objects[i]["stream"].encode(), objects[i]["name"].encode(),
                                                       objects[i]["sha256"].encode(), objects[i]["size"]))
    text = b"".join(b"%s\0%s\0%s\0%d\n" % (objects[i]["stream"].encode(), objects[i]["name"].encode(),
                                           objects[i]["sha256"].encode(), objects[i]["size"]) for i in order)
    return order, sha256_hex(text)


def test_the_committing_patch_carries_the_receipt_when_asked(live_core, site):
    """`Tributary-Receipt: compact` on the last PATCH: 200 with the compact receipt (digest of the
    objects + the duplicates' positions), a few hundred bytes for any number of objects; `full`: the
    receipt GET would give. The repeat empty PATCH answers the same; without the header, 204 as tus has it."""
    held = os.urandom(3000)
    assert site.upload_object(held, "held.bin", stream="raw")[1].status_code == 204
    entries = [Entry("vibration", f"r{i:03d}.csv", csv_rows(20 + i, i + 1)) for i in range(60)]
    entries.insert(17, Entry("raw", "again.bin", held, ref=True))
    seg = make_segment(entries)
    url = site.create_ok(len(seg), {"kind": "segment", "sha256": sha256_hex(seg)})
    half = len(seg) // 2
    r = site.patch(url, 0, seg[:half], headers={"Tributary-Receipt": "compact"})
    assert r.status_code == 204 and not r.content, "a PATCH that does not commit answers as before"
    r = site.patch(url, half, seg[half:], headers={"Tributary-Receipt": "compact"})
    assert r.status_code == 200, r.text
    assert r.headers["Tributary-Upload-State"] == "committed" and int(r.headers["Upload-Offset"]) == len(seg)
    compact = r.json()
    full = site.receipt(url)
    order, digest = compact_digest(full["objects"])
    assert compact == {
        "format": "compact-1", "upload_id": upload_id_of(url), "site": site.site, "kind": "segment",
        "committed_at": full["committed_at"], "count": len(entries), "objects_sha256": digest,
        "duplicates": [k for k, i in enumerate(order) if full["objects"][i]["status"] == "duplicate"],
    }
    assert len(compact["duplicates"]) == 1
    assert len(r.content) < 400 < len(json.dumps(full)) // 20

    again = site.patch(url, len(seg), b"", headers={"Tributary-Receipt": "compact"})
    assert again.status_code == 200 and again.json() == compact
    as_full = site.patch(url, len(seg), b"", headers={"Tributary-Receipt": "full"})
    assert as_full.status_code == 200 and as_full.json() == full
    got = site.request("GET", url, headers={"Tributary-Receipt": "compact"})
    assert got.status_code == 200 and got.json() == compact
    plain = site.patch(url, len(seg), b"")
    assert plain.status_code == 204 and not plain.content
    assert_error(site.patch(url, len(seg), b"", headers={"Tributary-Receipt": "tiny"}), 400)
