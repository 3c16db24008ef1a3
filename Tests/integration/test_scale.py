"""Scale-out core (issue 4) on real servers: several core nodes on one PostgreSQL catalog and one
S3 bucket (SeaweedFS), and what happens when the S3 store or PostgreSQL goes away mid-commit.

Each test bounds its loops in count and time; the servers it stops are its own.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from backend_pairs import S3Postgres
from backends import Postgres, SeaweedFS
from conftest import Entry, assert_error, make_segment, sha256_hex, upload_id_of, wait_until

pytestmark = pytest.mark.timeout(300)


def payload(i: int, size: int) -> bytes:
    """Deterministic, distinct, incompressible-ish bytes."""
    seed = hashlib.sha256(f"scale-{i}".encode()).digest()
    out = bytearray()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed * 64
    return bytes(out[:size])


@pytest.fixture
def shared_pair(real_backends) -> S3Postgres:
    pg, weed = real_backends
    return S3Postgres(pg, weed).shared()


def two_nodes(core_factory, pair: S3Postgres):
    admin = "adm_" + uuid.uuid4().hex
    env = {"TRIBUTARY_ADMIN_TOKEN": admin}
    return core_factory(backend=pair, env=env), core_factory(backend=pair, env=env)


def test_two_nodes_store_each_object_once(core_factory, shared_pair):
    """Two core processes on one catalog and one bucket; the same objects uploaded through both at
    once (under different names, so each node places its own key): every content is stored once,
    every receipt names the stored key, and the losers' placements are removed."""
    a, b = two_nodes(core_factory, shared_pair)
    site = a.new_site("two-nodes")
    clients = {"a": a.client(site.token, site.site), "b": b.client(site.token, site.site)}
    sizes = [0, 1, 1000, 70_000, 300_000] + [5_000 + i for i in range(14)] + [13 << 20]  # the last goes multipart
    objects = [payload(i, n) for i, n in enumerate(sizes)]
    start = threading.Barrier(2, timeout=60)

    def run(node: str) -> list[dict]:
        c = clients[node]
        start.wait()
        out = []
        for i, data in enumerate(objects):
            url, r = c.upload_object(data, f"obj-{i}-{node}.bin", chunk=4 << 20)
            if r is not None:
                assert r.status_code == 204, f"node {node} object {i}: {r.status_code} {r.text}"
            out.append(c.receipt(url))
        return out

    with ThreadPoolExecutor(2) as pool:
        ra, rb = pool.map(run, ["a", "b"])

    for i, data in enumerate(objects):
        oa, ob = ra[i]["objects"][0], rb[i]["objects"][0]
        assert sorted([oa["status"], ob["status"]]) == ["duplicate", "stored"], f"object {i}: {oa} {ob}"
        assert oa["key"] == ob["key"], f"object {i}: receipts name different keys"
        assert a.read_lake(oa["key"]) == data
    keys = a.lake_files(site.site)
    assert len(keys) == len(objects), f"each content stored once, losers' copies removed: {keys}"
    assert a.count("SELECT COUNT(*) FROM objects WHERE site = ?", (site.site,)) == len(objects)
    assert a.count("SELECT COUNT(*) FROM arrivals WHERE site = ?", (site.site,)) == 2 * len(objects)
    assert len(a.arrival_manifest_lines()) >= 2 * len(objects) - 2  # zero-byte uploads commit at creation
    # Have-check answers the same on both nodes.
    shas = [sha256_hex(d) for d in objects]
    for c in clients.values():
        r = c.have(shas)
        assert r.status_code == 200 and sorted(r.json()["have"]) == sorted(set(shas))


def test_upload_is_pinned_to_its_node(core_factory, shared_pair):
    """Partial uploads are staged on the node that created them (sticky routing). Another node
    answers 404; the edge starts that upload again there, and the content is stored once."""
    a, b = two_nodes(core_factory, shared_pair)
    site = a.new_site("sticky")
    ca, cb = a.client(site.token, site.site), b.client(site.token, site.site)
    data = payload(99, 3 << 20)
    md = {"name": "pinned.bin", "stream": "vibration", "sha256": sha256_hex(data), "captured-at": "2026-11-21T10:00:00Z"}
    url_a = ca.create_ok(len(data), md)
    assert ca.patch(url_a, 0, data[: 1 << 20]).status_code == 204
    on_b = url_a.replace(f":{a.port}/", f":{b.port}/")
    assert_error(cb.head(on_b), 404)
    # The node that held it is gone: the edge starts again on the other node.
    a.kill()
    url_b = cb.create_ok(len(data), md)
    assert cb.send_all(url_b, data, 1 << 20).status_code == 204
    assert cb.receipt(url_b)["objects"][0]["status"] == "stored"
    assert len(b.lake_files(site.site)) == 1
    # The orphaned partial upload on the dead node's disk is its own business; restarted, it
    # finishes it (its content is now a duplicate) and nothing is stored twice.
    a.start()
    r = ca.patch(url_a, 1 << 20, data[1 << 20:])
    assert r.status_code == 204, r.text
    assert ca.receipt(url_a)["objects"][0]["status"] == "duplicate"
    assert len(b.lake_files(site.site)) == 1
    assert b.count("SELECT COUNT(*) FROM objects WHERE site = ?", (site.site,)) == 1


def final_patch_until(client, url: str, offset: int, want: int, timeout: float) -> requests.Response:
    """Repeats the empty PATCH at the final offset (what an edge does after a 503) until it
    answers `want`; every other answer must be a 503 with Retry-After."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.patch(url, offset, b"")
        if r.status_code == want:
            return r
        assert r.status_code == 503, f"{r.status_code} {r.text}"
        assert r.headers.get("Retry-After"), "503 without Retry-After"
        if time.monotonic() > deadline:
            raise AssertionError(f"no {want} within {timeout}s (last {r.status_code} {r.text})")
        time.sleep(0.5)


def test_s3_outage_mid_commit(core_factory, real_backends):
    """The S3 store stops while a commit is placing objects: the client sees 503 + Retry-After,
    nothing is acknowledged, the bytes stay staged; once the store is back the same upload
    commits, and every object lands exactly once."""
    pg, _ = real_backends
    weed = SeaweedFS().start()
    try:
        pair = S3Postgres(pg, weed)
        core = core_factory(backend=pair, env={"TRIBUTARY_FAILPOINTS": "commit.before-lake=sleep:2000"})
        site = core.new_site("s3-outage")
        before = payload(1, 50_000)
        _, r = site.upload_object(before, "before.bin")
        assert r.status_code == 204

        objects = [payload(10 + i, 20_000 + i) for i in range(5)]
        seg = make_segment([Entry("vibration", f"s/{i}.bin", d) for i, d in enumerate(objects)])
        md = {"kind": "segment", "sha256": sha256_hex(seg)}
        url = site.create_ok(len(seg), md)
        assert site.patch(url, 0, seg[:-10]).status_code == 204
        answer: dict = {}
        t = threading.Thread(target=lambda: answer.setdefault("r", site.patch(url, len(seg) - 10, seg[-10:])))
        t.start()
        time.sleep(0.5)  # the commit is now inside the before-lake pause
        weed.stop()
        t.join(timeout=60)
        r = answer["r"]
        assert_error(r, 503, "unavailable")
        assert int(r.headers["Retry-After"]) > 0
        assert site.offset(url) == len(seg), "the bytes stay staged"
        assert requests.get(core.url("/readyz"), timeout=10).status_code == 503
        assert site.patch(url, len(seg), b"").status_code == 503

        weed.start()
        final_patch_until(site, url, len(seg), 204, timeout=60)
        wait_until(lambda: requests.get(core.url("/readyz"), timeout=10).status_code == 200, 30, what="readyz")
        receipt = site.receipt(url)
        assert [o["status"] for o in receipt["objects"]] == ["stored"] * len(objects)
        for o, d in zip(receipt["objects"], objects):
            assert core.read_lake(o["key"]) == d
        assert len(core.lake_files(site.site)) == len(objects) + 1
        assert core.count("SELECT COUNT(*) FROM objects WHERE site = ?", (site.site,)) == len(objects) + 1
        assert core.count("SELECT COUNT(*) FROM arrivals WHERE upload_id = ?", (upload_id_of(url),)) == len(objects)
        assert len(core.arrival_manifest_lines(upload_id_of(url))) == len(objects)
        # The retried final PATCH answers the same again.
        assert site.patch(url, len(seg), b"").status_code == 204
    finally:
        weed.cleanup()


def test_postgres_outage(core_factory, real_backends):
    """PostgreSQL goes away: requests get 503 + Retry-After (never a 4xx, never an ack); the node
    reconnects by itself when it is back and the upload completes exactly once."""
    _, weed = real_backends
    pg = Postgres().start()
    try:
        pair = S3Postgres(pg, weed)
        core = core_factory(backend=pair)
        site = core.new_site("pg-outage")
        data = payload(7, 2 << 20)
        md = {"name": "during-outage.bin", "stream": "vibration", "sha256": sha256_hex(data), "captured-at": "2026-11-21T10:00:00Z"}
        url = site.create_ok(len(data), md)
        assert site.patch(url, 0, data[: 1 << 20]).status_code == 204

        pg.kill()
        r = site.patch(url, 1 << 20, data[1 << 20:])
        assert_error(r, 503, "unavailable")
        assert r.headers.get("Retry-After")
        assert requests.get(core.url("/readyz"), timeout=15).status_code == 503

        pg.start()
        offset = wait_until(lambda: (lambda h: int(h.headers["Upload-Offset"]) + 1 if h.status_code == 200 else None)(site.head(url)),
                            90, interval=0.5, what="HEAD to answer again") - 1
        assert offset in (1 << 20, len(data))
        if offset < len(data):
            r = site.patch(url, offset, data[offset:])
        else:
            r = final_patch_until(site, url, offset, 204, timeout=60)
        assert r.status_code == 204, r.text
        assert site.receipt(url)["objects"][0]["status"] == "stored"
        assert core.lake_files(site.site) == [site.receipt(url)["objects"][0]["key"]]
        assert core.count("SELECT COUNT(*) FROM objects WHERE site = ?", (site.site,)) == 1
    finally:
        pg.cleanup()


class Nginx:
    """deploy/compose/nginx.conf, unchanged but for the node addresses and the listen port."""

    def __init__(self, root, nodes: dict[str, int]):
        import shutil
        import subprocess

        self.binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(self.binary):
            pytest.fail("nginx not found: install Debian's nginx-light (scripts/bootstrap.sh does)", pytrace=False)
        from conftest import REPO_ROOT, free_port

        self.root = root
        self.port = free_port()
        conf = (REPO_ROOT / "deploy/compose/nginx.conf").read_text()
        for host, port in nodes.items():
            conf = conf.replace(f"{host}:8080", f"127.0.0.1:{port}")
        conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        (root / "logs").mkdir(parents=True, exist_ok=True)
        (root / "nginx.conf").write_text(conf)
        globals_ = f"daemon off; pid {root}/nginx.pid; error_log {root}/logs/error.log;"
        if os.geteuid() == 0:
            globals_ += " user root;"
        self.proc = subprocess.Popen([self.binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-g", globals_],
                                     stdout=subprocess.DEVNULL, stderr=open(root / "logs/stderr.log", "wb"), stdin=subprocess.DEVNULL)
        wait_until(lambda: self.proc.poll() is not None or self._up(), 20, what="nginx")
        assert self.proc.poll() is None, (root / "logs/stderr.log").read_text() + (root / "logs/error.log").read_text()

    def _up(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


def test_nginx_routes_each_upload_to_its_node(core_factory, shared_pair, tmp_path):
    """The shipped nginx.conf in front of two nodes with node ids: creations go to either node,
    every later request reaches the node whose id begins the upload id; when that node is down its
    uploads answer 404 through the other node, and starting again stores the content once."""
    admin = "adm_" + uuid.uuid4().hex
    a = core_factory(backend=shared_pair, env={"TRIBUTARY_ADMIN_TOKEN": admin, "TRIBUTARY_NODE_ID": "01"})
    b = core_factory(backend=shared_pair, env={"TRIBUTARY_ADMIN_TOKEN": admin, "TRIBUTARY_NODE_ID": "02"})
    lb = Nginx(tmp_path / "nginx", {"core1": a.port, "core2": b.port})
    try:
        site = a.new_site("lb")
        c = a.client(site.token, site.site)
        base = f"http://127.0.0.1:{lb.port}"
        urls, datas = [], []
        for i in range(8):
            data = payload(200 + i, 300_000)
            md = {"name": f"lb-{i}.bin", "stream": "vibration", "sha256": sha256_hex(data), "captured-at": "2026-11-21T10:00:00Z"}
            r = c.request("POST", base + "/v1/uploads", headers={"Upload-Length": str(len(data)),
                                                                 "Upload-Metadata": __import__("conftest").encode_metadata(md)})
            assert r.status_code == 201, r.text
            url = base + r.headers["Location"]
            assert c.patch(url, 0, data[:100_000]).status_code == 204
            urls.append(url)
            datas.append(data)
        nodes = {upload_id_of(u)[:2] for u in urls}
        assert nodes == {"01", "02"}, f"creations spread over both nodes: {nodes}"
        for url, data in zip(urls[:-2], datas[:-2]):
            assert c.offset(url) == 100_000
            assert c.patch(url, 100_000, data[100_000:]).status_code == 204
            assert c.receipt(url)["objects"][0]["status"] == "stored"

        # Node 01 goes away with partial uploads staged on it.
        pending = [(u, d) for u, d in zip(urls[-2:], datas[-2:])]
        a.kill()
        for url, data in pending:
            if upload_id_of(url).startswith("01"):
                assert_error(c.head(url), 404)
                again = c.request("POST", base + "/v1/uploads", headers={
                    "Upload-Length": str(len(data)),
                    "Upload-Metadata": __import__("conftest").encode_metadata({"name": "again.bin", "stream": "vibration"})})
                assert again.status_code == 201 and again.headers["Location"].split("/")[-1].startswith("02")
                url = base + again.headers["Location"]
                assert c.send_all(url, data, 1 << 20).status_code == 204
            else:
                assert c.patch(url, 100_000, data[100_000:]).status_code == 204
        assert b.count("SELECT COUNT(*) FROM objects WHERE site = ?", (site.site,)) == len(urls)
        assert len(b.lake_files(site.site)) == len(urls)
    finally:
        lb.stop()
