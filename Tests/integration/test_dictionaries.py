"""Per-stream zstd dictionaries (issue 14, docs/PROTOCOL.md "Dictionaries"): the core keeps a site's
dictionary content-addressed in the lake and decodes segments with it; every hostile variant is refused
precisely; an edge trains one from its stream and ships it once."""

import hashlib
import json
import random

import zstandard

from conftest import Entry, assert_error, make_tar, sha256_hex
from edgekit import assert_exactly_once, edge_factory  # noqa: F401


def csv(rng: random.Random, station: int, lines: int = 40) -> bytes:
    rows = "".join(f"{1795000000 + 3600 * j},station-{station},{rng.uniform(-10, 30):.1f},{rng.randint(30, 99)},"
                   f"{rng.uniform(990, 1030):.1f},{rng.uniform(0, 12):.1f}\n" for j in range(lines))
    return ("time,station,temperature_c,humidity_pct,pressure_hpa,wind_ms\n" + rows).encode()


def train(seed: int, size: int = 16384) -> bytes:
    rng = random.Random(seed)
    samples = [csv(rng, i % 17) for i in range(300)]
    return zstandard.train_dictionary(size, samples).as_bytes()


def put_dictionary(client, ident: str, body: bytes):
    return client.request("PUT", f"/v1/dictionaries/{ident}", tus=False, data=body,
                          headers={"Content-Type": "application/octet-stream"})


def dict_segment(entries: list[Entry], d: bytes) -> bytes:
    man = {"format": "tributary-segment", "version": 1, "objects": [e.manifest() for e in entries]}
    tar = make_tar([("tributary-manifest.json", json.dumps(man).encode())] + [(e.member, e.data) for e in entries])
    return zstandard.ZstdCompressor(level=3, write_checksum=True, dict_data=zstandard.ZstdCompressionDict(d)).compress(tar)


def create_segment(client, seg: bytes, dictionary: str | None):
    md = {"kind": "segment", "sha256": sha256_hex(seg)}
    if dictionary is not None:
        md["dictionary"] = dictionary
    return client.create(len(seg), md)


def test_core_keeps_a_dictionary_and_decodes_only_with_the_one_named(live_core, site):
    d = train(1)
    ident = hashlib.sha256(d).hexdigest()
    rng = random.Random(2)
    entries = [Entry("weather", f"st{i}/day.csv", csv(rng, i)) for i in range(6)]
    seg = dict_segment(entries, d)

    # Before the core holds it: a precise 409, nothing created.
    assert_error(create_segment(site, seg, ident), 409, "unknown_dictionary")
    # Hostile bodies and names.
    assert_error(put_dictionary(site, ident, d[:-1]), 422, "invalid_dictionary")           # hash differs
    assert_error(put_dictionary(site, hashlib.sha256(b"x").hexdigest(), b"x"), 422, "invalid_dictionary")
    raw = b"time,station,temperature_c\n" * 100                                            # raw content: no ID
    assert_error(put_dictionary(site, hashlib.sha256(raw).hexdigest(), raw), 422, "invalid_dictionary")
    damaged = d[:8] + bytes(200) + d[208:]
    assert_error(put_dictionary(site, hashlib.sha256(damaged).hexdigest(), damaged), 422, "invalid_dictionary")
    big = d + bytes(128 * 1024)
    assert_error(put_dictionary(site, hashlib.sha256(big).hexdigest(), big), 413)
    assert_error(put_dictionary(site, "NOT-A-HASH", d), 422, "invalid_dictionary")
    assert put_dictionary(live_core.client(None), ident, d).status_code == 401
    # Only segments name a dictionary.
    assert_error(site.create(10, {"kind": "object", "name": "a.csv", "stream": "weather", "dictionary": ident}),
                 400, "invalid_metadata")
    assert_error(site.create(10, {"kind": "segment", "dictionary": "abc"}), 400, "invalid_metadata")

    r = put_dictionary(site, ident, d)
    assert r.status_code == 201, r.text
    assert put_dictionary(site, ident, d).status_code == 201  # idempotent
    assert live_core.read_lake(f"_tributary/dictionaries/{ident}.zdict") == d

    # Named: decoded with it, every object stored intact.
    r = create_segment(site, seg, ident)
    assert r.status_code == 201, r.text
    url = live_core.url(r.headers["Location"])
    assert site.send_all(url, seg, 1 << 20).status_code == 204
    got = {live_core.read_lake(k) for k in live_core.lake_files(site.site)}
    assert {e.data for e in entries} <= got

    # Not named, or another dictionary named: never decoded with a wrong one.
    rng = random.Random(3)
    more = [Entry("weather", f"st{i}/other.csv", csv(rng, i)) for i in range(3)]
    seg2 = dict_segment(more, d)
    url = site.create_ok(len(seg2), {"kind": "segment", "sha256": sha256_hex(seg2)})
    assert_error(site.send_all(url, seg2, 1 << 20), 422, "corrupt_compression")
    d2 = train(9, 8192)
    ident2 = hashlib.sha256(d2).hexdigest()
    assert put_dictionary(site, ident2, d2).status_code == 201
    r = create_segment(site, seg2, ident2)
    assert r.status_code == 201, r.text
    assert_error(site.send_all(live_core.url(r.headers["Location"]), seg2, 1 << 20), 422, "corrupt_compression")
    # A segment without a dictionary still decodes.
    plain = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(
        make_tar([("tributary-manifest.json", json.dumps({"format": "tributary-segment", "version": 1,
                                                           "objects": [e.manifest() for e in more]}).encode())]
                 + [(e.member, e.data) for e in more]))
    _, r = site.upload_segment(plain)
    assert r.status_code == 204, r.text


def test_edge_trains_ships_once_and_delivers(live_core, edge_factory):
    """An edge with a small sample trains a dictionary for its stream early; later segments name it,
    the core asks for it once (409), the edge sends it, and everything lands exactly once."""
    site = live_core.new_site("dict")
    rng = random.Random(14)
    files = {("weather", f"station{i % 20:02d}/day{i // 20:03d}.csv"): csv(rng, i % 20, rng.randint(20, 60))
             for i in range(240)}
    agent = edge_factory(live_core.url(), site.site, site.token, segment_max_objects=20, segment_max_age_ms=500,
                         dictionary_sample_bytes=16384, dictionary_sample_object_bytes=1024, dictionary_bytes=4096,
                         heartbeat_seconds=3600)
    for (stream, name), data in files.items():
        agent.drop(f"{stream}/{name}", data)
    agent.start()
    agent.wait_drained(90, acked=len(files))
    assert_exactly_once(live_core, site.site, files)
    edge_dicts = sorted(p for p in (agent.spool / "dictionaries").glob("*.zdict"))
    assert edge_dicts, f"the edge trained no dictionary\n{agent.log_tail()}"
    shipped = [p for p in edge_dicts if live_core.read_lake(f"_tributary/dictionaries/{p.name}") == p.read_bytes()]
    assert shipped, "no dictionary of the edge reached the core's lake"
