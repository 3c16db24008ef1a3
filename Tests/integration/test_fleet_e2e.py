"""Issue 5, "done when": several real edge agents, one taken offline with a growing backlog. The
core shows it offline with its last known backlog; after it returns the backlog drains to zero
in the API, the CLI, /metrics and the page; the fleet figures equal each edge's `status --json`;
a site's token cannot read the fleet API, the admin token can."""

from __future__ import annotations

import json
import random
import time

import pytest

from conftest import assert_error, wait_until
from edgekit import assert_exactly_once, edge_factory, proxy_factory  # noqa: F401
from fleetkit import admin, cli_table, metrics, page_rows, site_view

OFFLINE_AFTER = 4


def same_as_status(view: dict, status: dict) -> list[str]:
    """Fields where the core's figures differ from the edge's own `status --json`."""
    pairs = {
        "pending_objects": status["pending_objects"],
        "pending_bytes": status["pending_bytes"],
        "oldest_captured_at": status.get("oldest_captured_at"),
        "spool_used_bytes": status["spool"]["used_bytes"],
        "spool_max_bytes": status["spool"]["max_bytes"],
        "spool_used_objects": status["spool"]["used_objects"],
        "spool_max_objects": status["spool"]["max_objects"],
        "dropped_objects": status["dropped_objects"],
        "dropped_bytes": status["dropped_bytes"],
        "quarantined_objects": status["counters"].get("quarantined_objects", 0),
        # What the core received equals what the edge had acknowledged.
        "objects_received": status["counters"].get("acked_objects", 0),
        "bytes_received": status["counters"].get("acked_bytes", 0),
        "duplicates": status["counters"].get("acked_duplicates", 0),
    }
    diffs = [f"{k}: core {view.get(k)!r} != edge {v!r}" for k, v in pairs.items() if view.get(k) != v]
    streams = [{"stream": s["stream"], "pending_objects": s["pending_objects"], "pending_bytes": s["pending_bytes"],
                "oldest_captured_at": s.get("oldest_captured_at")} for s in status["streams"]]
    core_streams = [{k: s.get(k) for k in ["stream", "pending_objects", "pending_bytes", "oldest_captured_at"]}
                    for s in view.get("streams") or []]
    if core_streams != streams:
        diffs.append(f"streams: core {core_streams} != edge {streams}")
    return diffs


def settled_equal(core, agent, timeout: float = 20) -> dict:
    """Reads the (idle) edge's status, waits for a heartbeat sent after that read, compares."""
    status = agent.status()
    read_at = time.time()

    def fresh():
        v = site_view(core, agent.site)
        at = v.get("last_report_at")
        return v if at and time.mktime(time.strptime(at[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone > read_at else None
    view = wait_until(fresh, timeout, 0.2, what=f"a heartbeat from {agent.site} after its status was read")
    after = agent.status()
    assert after["pending_objects"] == status["pending_objects"], "the edge was not idle"
    diffs = same_as_status(view, status)
    assert not diffs, f"{agent.site}: " + "; ".join(diffs)
    return view


@pytest.mark.parametrize("backend", ["fs+sqlite", "s3+postgres"])
def test_fleet_end_to_end(core_factory, edge_factory, proxy_factory, backend):
    core = core_factory(backend=backend, env={
        "TRIBUTARY_OFFLINE_AFTER_SECONDS": str(OFFLINE_AFTER), "TRIBUTARY_BACKLOG_HISTORY_STEP_SECONDS": "1"})
    rng = random.Random(5)
    sites = {}
    for name in ["north", "south", "east"]:
        token = core.add_site(name)
        sites[name] = token
    proxies = {name: proxy_factory(core.port) for name in sites}
    # east is slow (200 KB/s upload cap) so that its reports show a backlog before it goes dark.
    agents = {
        name: edge_factory(proxies[name].url, name, sites[name], heartbeat_seconds=1,
                           **({"bandwidth_bytes_per_second": 200_000} if name == "east" else {}))
        for name in sites
    }
    expected: dict[str, dict[tuple[str, str], bytes]] = {name: {} for name in sites}

    def drop(name: str, n: int, size: int, prefix: str) -> None:
        for i in range(n):
            data = rng.randbytes(size)
            stream = "vibration" if i % 2 else "temperature"
            rel = f"{prefix}-{i:03d}.bin"
            agents[name].drop(f"{stream}/{rel}", data)
            expected[name][(stream, rel)] = data

    for name in ["north", "south"]:
        drop(name, 12, 2000, "a")
        expected[name][("vibration", "same-as-a.bin")] = expected[name][("temperature", "a-000.bin")]
        agents[name].drop("vibration/same-as-a.bin", expected[name][("temperature", "a-000.bin")])
    for a in agents.values():
        a.start()
    for name in ["north", "south"]:
        agents[name].wait_drained(60, acked=len(expected[name]))

    # east: a backlog the core hears about, then the link goes down and the backlog grows.
    drop("east", 20, 100_000, "b")
    seen = wait_until(lambda: (lambda v: v if (v.get("pending_objects") or 0) > 0 else None)(site_view(core, "east")),
                      20, 0.1, what="a heartbeat from east with a backlog")
    proxies["east"].link(False)
    wait_until(lambda: agents["east"].status()["agent"]["link"]["state"] in ("backing-off", "down"), 20, 0.2,
               what="east's agent to see the link down")
    drop("east", 10, 100_000, "c")
    offline = wait_until(lambda: (lambda v: v if v["status"] == "offline" else None)(site_view(core, "east")),
                         OFFLINE_AFTER + 20, 0.2, what="the core to show east offline")
    last_known = offline["pending_objects"]
    assert last_known > 0, offline
    assert offline["pending_bytes"] > 0 and offline["streams"], offline
    time.sleep(1.5)
    edge_now = wait_until(lambda: (lambda s: s if s["pending_objects"] > last_known else None)(agents["east"].status()), 20, 0.3,
                          what="east's own backlog to grow past what the core last heard")
    again = site_view(core, "east")
    assert again["status"] == "offline" and again["pending_objects"] == last_known, again
    assert again["pending_bytes"] == offline["pending_bytes"]
    # The same in the CLI, /metrics and the page.
    row = cli_table(core)["east"]
    assert row["STATUS"] == "offline" and row["PENDING"] == str(last_known), row
    m = metrics(core)
    assert m.value("tributary_site_status", site="east", status="offline") == 1
    assert m.value("tributary_site_backlog_objects", site="east") == last_known
    assert m.value("tributary_site_backlog_bytes", site="east") == offline["pending_bytes"]
    assert m.value("tributary_site_last_seen_age_seconds", site="east") > OFFLINE_AFTER
    page = page_rows(core)
    assert page["east"]["status"] == "offline" and page["east"]["cells"]["pending"] == str(last_known), page["east"]
    for name in ["north", "south"]:
        assert page[name]["status"] == "healthy" and page[name]["cells"]["pending"] == "0", page[name]
    # The online sites: the core's figures equal each edge's own status.
    for name in ["north", "south"]:
        settled_equal(core, agents[name])
    print(f"east went dark with {last_known} pending as last reported; its edge then had {edge_now['pending_objects']}")

    # east returns, without the cap, and drains.
    agents["east"].stop()
    agents["east"].write_config(bandwidth_bytes_per_second=0)
    proxies["east"].link(True)
    agents["east"].start()
    agents["east"].wait_drained(90, acked=len(expected["east"]))
    view = settled_equal(core, agents["east"])
    assert view["status"] == "healthy" and view["pending_objects"] == 0 and view["pending_bytes"] == 0
    assert view["objects_received"] == len(expected["east"])
    history = [p["pending_objects"] for p in view["backlog_history"]]
    assert max(history) >= last_known and history[-1] == 0, history
    for name in ["north", "south"]:
        settled_equal(core, agents[name])
    row = cli_table(core)["east"]
    assert row["STATUS"] == "healthy" and row["PENDING"] == "0", row
    m = metrics(core)
    assert m.value("tributary_site_backlog_objects", site="east") == 0
    assert m.value("tributary_site_status", site="east", status="healthy") == 1
    assert m.value("tributary_site_objects_received_total", site="east") == len(expected["east"])
    page = page_rows(core)
    assert {n: (r["status"], r["cells"]["pending"]) for n, r in page.items()} == {n: ("healthy", "0") for n in sites}
    for name in sites:
        assert_exactly_once(core, name, expected[name])

    # Who may read the fleet.
    east = core.client(sites["east"], "east")
    assert_error(east.request("GET", "/v1/sites", tus=False), 403, "forbidden")
    assert_error(east.request("GET", "/v1/sites/east", tus=False), 403, "forbidden")
    assert admin(core).request("GET", "/v1/sites", tus=False).status_code == 200
