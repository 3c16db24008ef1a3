"""A 2 GiB object through the agent: memory stays flat (peak RSS measured and reported)."""

from __future__ import annotations

import hashlib
import os
import random
import time

import pytest

from conftest import wait_until
from edgekit import arrivals, edge_factory  # noqa: F401

SIZE = 2 << 30
RSS_LIMIT_MB = 64


def write_big(path, size: int) -> str:
    """Incompressible content (so it goes on the wire as is), written and hashed in 1 MiB blocks."""
    block = random.Random(7).randbytes(1 << 20)
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(size >> 20):
            b = i.to_bytes(8, "big") + block[8:]
            f.write(b)
            h.update(b)
    return h.hexdigest()


@pytest.mark.timeout(900)
def test_two_gib_object_ships_with_flat_memory(core_factory, edge_factory, tmp_path, request):
    core = core_factory(args=["--max-upload-bytes", str(4 << 30)])
    token = core.add_site("plant-big")
    agent = edge_factory(core.base, "plant-big", token, chunk_bytes=8 << 20, max_spool_bytes=3 << 30)
    staging = tmp_path / "big.bin"
    digest = write_big(staging, SIZE)
    agent.start()
    time.sleep(1)
    idle_mb = agent.current_rss_kb() / 1024
    started = time.monotonic()
    os.rename(staging, agent.inbox / "big.bin")  # moved in: taken at once
    wait_until(lambda: len(arrivals(core, "plant-big")) == 1, 800, 1, what="the 2 GiB object to arrive")
    elapsed = time.monotonic() - started
    [a] = arrivals(core, "plant-big")
    assert a["sha256"] == digest and a["size"] == SIZE
    assert (core.lake / a["key"]).stat().st_size == SIZE
    agent.wait_drained(60, acked=1)
    peak_mb = agent.peak_rss_kb / 1024
    line = (f"2 GiB object: intake + upload + commit in {elapsed:.1f} s "
            f"({SIZE / elapsed / 1e6:.0f} MB/s), edge agent peak RSS {peak_mb:.1f} MB (idle {idle_mb:.1f} MB)")
    # Shown in the test run's output (`-ra` summary) whether the test passes or not.
    request.node.add_report_section("call", "measured", line)
    request.config._tributary_measured = getattr(request.config, "_tributary_measured", []) + [line]
    (tmp_path / "measured.txt").write_text(line + "\n")
    assert agent.peak_rss_kb > 0, "RSS was never sampled"
    assert peak_mb < RSS_LIMIT_MB, line
