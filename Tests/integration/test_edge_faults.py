"""The agent over a bad link: the project's fault proxy between agents and a core."""

from __future__ import annotations

import random
import time

import pytest

from conftest import wait_until
from edgekit import arrivals, assert_exactly_once, edge_factory, proxy_factory  # noqa: F401


def mixed_files(seed: int, small: int, large: int) -> dict[tuple[str, str], bytes]:
    rng = random.Random(seed)
    files = {("v", f"r{i:03d}.csv"): "".join(f"{i},{j},{rng.random():.6f}\n" for j in range(rng.randint(10, 3000))).encode()
             for i in range(small)}
    for i in range(large):
        files[("blobs", f"b{i}.bin")] = rng.randbytes(rng.randint(2, 6) << 20)
    files[("v", "dup-of-r000.csv")] = files[("v", "r000.csv")]
    return files


@pytest.mark.timeout(600)
def test_every_object_arrives_exactly_once_through_cuts_stalls_throttling_and_flips(live_core, edge_factory, proxy_factory):
    site = live_core.new_site("faulty")
    proxy = proxy_factory(live_core.port, "--seed", "11",
                          "--cut-probability", "1", "--cut-after", "20000-3000000",
                          "--stall-probability", "0.5", "--stall-after", "0-1000000", "--stall-ms", "5000-5000",
                          "--throttle", "6000000", "--flip-probability", "0.02")
    agent = edge_factory(proxy.url, site.site, site.token, chunk_bytes=512 << 10, stall_seconds=2,
                         segment_max_bytes=1 << 20, large_object_bytes=1 << 20)
    files = mixed_files(3, 120, 4)
    for (stream, name), data in files.items():
        agent.drop(f"{stream}/{name}", data)
    agent.start()
    agent.wait_drained(500, acked=len(files))
    assert_exactly_once(live_core, site.site, files)
    stats = proxy.stats()
    assert stats["cuts"] > 0 and stats["flips"] > 0 and stats["stalls"] > 0, stats
    s = agent.status()
    assert s["counters"].get("quarantined_objects", 0) == 0, s["quarantined"]
    assert s["counters"].get("chunks_resent_corrupt", 0) > 0, "flipped bytes must have been caught by checksums"
    log = agent.log_text()
    assert "upload interrupted; will resume" in log or "cannot reach the core for the have-check" in log


def test_a_resumed_upload_resends_at_most_one_chunk(live_core, edge_factory, proxy_factory, request):
    site = live_core.new_site("cuts")
    chunk = 1 << 20
    # Every connection is cut after 2.5 MiB (plus headers): each cut costs at most the chunk in flight.
    proxy = proxy_factory(live_core.port, "--cut-probability", "1", "--cut-after", str(5 * chunk // 2))
    agent = edge_factory(proxy.url, site.site, site.token, chunk_bytes=chunk, large_object_bytes=1 << 20)
    data = random.Random(4).randbytes(20 * chunk)
    agent.drop("blobs/x.bin", data)
    agent.start()
    agent.wait_drained(120, acked=1)
    assert_exactly_once(live_core, site.site, {("blobs", "x.bin"): data})
    time.sleep(1.2)
    stats = proxy.stats()
    cuts = stats["cuts"]
    assert cuts >= 5, stats
    overhead = stats["bytes_up"] - len(data)
    # Per cut at most one chunk re-sent; requests' headers are a few hundred bytes each.
    request.config._tributary_measured = getattr(request.config, "_tributary_measured", []) + [
        f"resume: {cuts} cuts while sending {len(data) >> 20} MiB in {chunk >> 20} MiB chunks cost {overhead} extra bytes "
        f"({overhead / cuts / chunk:.2f} chunk per cut, headers included)"]
    assert overhead <= cuts * chunk + 64 * 1024, f"{overhead} bytes over the object for {cuts} cuts: {stats}"
    assert overhead >= cuts * chunk // 4, "cuts mid-chunk must have cost something (the test must measure)"


def test_link_down_for_a_while_then_back(live_core, edge_factory, proxy_factory):
    site = live_core.new_site("outage")
    proxy = proxy_factory(live_core.port)
    agent = edge_factory(proxy.url, site.site, site.token, retry_cap_ms=500, down_after_failures=3)
    agent.start()
    agent.drop("v/before.csv", b"1")
    agent.wait_drained(30, acked=1)
    proxy.link(False)
    files = {("v", f"during{i}.csv"): f"{i}".encode() for i in range(20)}
    for (stream, name), data in files.items():
        agent.drop(f"{stream}/{name}", data)
    wait_until(lambda: agent.status()["agent"]["link"]["state"] == "down", 30, what="the link to be seen down")
    s = agent.status()
    assert s["pending_objects"] == 20 and s["streams"][0]["oldest_captured_at"]
    proxy.link(True)
    agent.wait_drained(60, acked=21)
    wait_until(lambda: agent.status()["agent"]["link"]["state"] == "up", 5, what="link state up in status")
    files[("v", "before.csv")] = b"1"
    assert_exactly_once(live_core, site.site, files)


def test_have_check_skips_bytes_the_core_already_holds(live_core, edge_factory, proxy_factory):
    site = live_core.new_site("have")
    proxy = proxy_factory(live_core.port)
    agent = edge_factory(proxy.url, site.site, site.token, large_object_bytes=64 << 20, segment_max_bytes=64 << 20)
    big = random.Random(8).randbytes(3 << 20)
    agent.drop("v/first.bin", big)
    agent.start()
    agent.wait_drained(60, acked=1)
    time.sleep(1.2)  # the proxy rewrites its stats file every 0.5 s
    before = proxy.stats()["bytes_up"]
    agent.drop("v/again-under-another-name.bin", big)
    agent.wait_drained(60, acked=2)
    time.sleep(1.2)
    sent = proxy.stats()["bytes_up"] - before
    assert sent < 64 * 1024, f"{sent} bytes sent for content the core already held"
    got = arrivals(live_core, site.site)
    assert [a["status"] for a in got] == ["stored", "duplicate"]


def test_bytes_back_down_stay_under_one_percent_of_raw_on_small_sensor_files(live_core, edge_factory, proxy_factory):
    """Issue 14: receipts come compact with the committing PATCH, and small objects are not named in the
    have-check, so what the core sends back is a small fraction of what the site ships."""
    site = live_core.new_site("down")
    proxy = proxy_factory(live_core.port)
    rng = random.Random(14)
    files = {}
    for i in range(800):
        rows = "".join(f"{1700000000 + 60 * j},{rng.uniform(-40, 40):.2f},{rng.uniform(0, 100):.1f}\n" for j in range(rng.randint(12, 110)))
        files[("weather", f"station{i % 40:02d}/day{i // 40:03d}.csv")] = f"t,temp,rh\n{rows}".encode()
    raw = sum(len(d) for d in files.values())
    agent = edge_factory(proxy.url, site.site, site.token, segment_max_age_ms=2000, heartbeat_seconds=3600)
    for (stream, name), data in files.items():
        agent.drop(f"{stream}/{name}", data)
    agent.start()
    agent.wait_drained(90, acked=len(files))
    time.sleep(1.2)  # the proxy rewrites its stats file every 0.5 s
    stats = proxy.stats()
    assert_exactly_once(live_core, site.site, files)
    down = stats["bytes_down"]
    print(f"\n{len(files)} files, {raw} raw bytes: {stats['bytes_up']} up ({stats['bytes_up'] / raw:.3f}), "
          f"{down} down ({down / raw:.4f})")
    # Full receipts alone (~200 bytes an object) would be several percent of raw.
    assert down <= 0.01 * raw, f"{down} bytes back down for {raw} raw bytes ({down / raw:.2%})"
