"""The process-wide budget of PATCH body bytes gathered at once (`max_buffered_body_bytes`, issue 14:
core peak RSS with 100 sites uploading at once): with a budget of one 256 KiB block, many sites'
PATCHes at once all complete with the right bytes, the ones that waited are counted, and a client
that goes away mid-body gives its block back.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import raw_patch_start, sha256_hex, wait_until
from fleetkit import metrics

pytestmark = pytest.mark.timeout(120)


def payload(i: int, size: int) -> bytes:
    seed = hashlib.sha256(f"budget-{i}".encode()).digest()
    out = bytearray()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed * 64
    return bytes(out[:size])


def test_many_patches_through_a_budget_of_one_block(core_factory):
    core = core_factory(env={"TRIBUTARY_MAX_BUFFERED_BODY_BYTES": str(256 << 10)})
    sites = [core.new_site("budget") for _ in range(12)]
    data = [payload(i, (1 << 20) + 4099 * i) for i in range(len(sites))]

    # A client that sends part of a body and goes away while others wait: its block comes back.
    quitter = core.new_site("quitter")
    q_url = quitter.create_ok(1 << 20, {"name": "q.bin", "stream": "budget"})
    sock = raw_patch_start(core, q_url, quitter.token, 0, 1 << 20, b"x" * (300 << 10))

    def upload(i: int):
        url, answer = sites[i].upload_object(data[i], f"obj-{i}.bin", stream="budget", chunk=256 << 10)
        return url, answer.status_code

    with ThreadPoolExecutor(len(sites)) as pool:
        futures = [pool.submit(upload, i) for i in range(len(sites))]
        time.sleep(0.2)
        sock.close()
        results = [f.result(timeout=90) for f in futures]
    assert [status for _, status in results] == [204] * len(sites)

    for i, (url, _) in enumerate(results):
        receipt = sites[i].receipt(url)
        assert [o["sha256"] for o in receipt["objects"]] == [sha256_hex(data[i])]
        assert core.read_lake(receipt["objects"][0]["key"]) == data[i]

    # Every block is back (the quitter's too), and the waits were counted.
    wait_until(lambda: metrics(core).value("tributary_core_body_buffer_bytes") == 0, 10, what="every block given back")
    m = metrics(core)
    assert m.value("tributary_core_body_buffer_waits_total") > 0
    # What the quitter sent before it went away was kept (no checksum): tus resumes from there.
    wait_until(lambda: quitter.offset(q_url) > 0, 10, what="the quitter's bytes kept")
