"""Issue 5, core side: heartbeats, per-site state, GET /v1/sites[/{site}], `sites list`."""

from __future__ import annotations

import time

import pytest

from conftest import assert_error, sha256_hex, wait_until
from fleetkit import admin, ago, beat, cli as cli_text, cli_table, fleet, report, site_view, sites_by_name


def test_heartbeat_is_kept_and_served_as_sent(live_core, site):
    body = report(pending=7, pending_bytes=7340, oldest_age=30, streams={"vibration": (5, 5000), "temperature": (2, 2340)},
                  last_error="connection reset by peer")
    beat(site, body)
    s = sites_by_name(live_core)[site.site]
    assert s["status"] == "healthy", s
    for key in ["pending_objects", "pending_bytes", "oldest_captured_at", "spool_used_bytes", "spool_max_bytes",
                "spool_used_objects", "spool_max_objects", "dropped_objects", "dropped_bytes", "quarantined_objects",
                "link_state", "last_error", "last_success_at", "agent_version", "reported_at"]:
        assert s[key] == body[key], key
    assert s["streams"] == body["streams"]
    assert 29 <= s["oldest_pending_seconds"] <= 60
    assert s["seconds_since_seen"] < 30 and s["last_seen"] == s["last_report_at"]
    assert s["created_at"]
    one = site_view(live_core, site.site)
    assert one["pending_objects"] == 7 and one["streams"] == body["streams"]
    assert [p["pending_objects"] for p in one["backlog_history"]] == [7]
    # A later report replaces it.
    beat(site, report(pending=0))
    s = site_view(live_core, site.site)
    assert s["pending_objects"] == 0 and s["streams"] == [] and s["oldest_pending_seconds"] == 0


def test_statuses_lagging_and_dropping(live_core, site, other_site):
    beat(site, report(pending=3, oldest_age=2000))  # lagging_after defaults to 900 s
    beat(other_site, report(pending=0, dropped=0))
    beat(other_site, report(pending=0, dropped=4))
    got = sites_by_name(live_core)
    assert got[site.site]["status"] == "lagging", got[site.site]
    assert got[other_site.site]["status"] == "dropping", got[other_site.site]
    assert got[other_site.site]["drops_changed_at"]
    summary = fleet(live_core)["summary"]
    assert summary["lagging"] >= 1 and summary["dropping"] >= 1


def test_commits_and_rejections_are_counted(live_core, site):
    data = b"t,v\n1,2\n" * 10
    site.upload_object(data, "a.csv", captured_at=ago(120))
    site.upload_object(data, "copy.csv", captured_at=ago(120))  # a duplicate
    # Refused at creation (bad name) and at commit (sha256 does not match).
    assert site.create(4, {"name": "../x", "stream": "s"}).status_code == 400
    url = site.create_ok(4, {"name": "b.csv", "stream": "s", "sha256": sha256_hex(b"other")})
    assert site.patch(url, 0, b"abcd").status_code == 422
    s = site_view(live_core, site.site)
    assert (s["objects_received"], s["objects_stored"], s["duplicates"]) == (2, 1, 1)
    assert (s["bytes_received"], s["bytes_stored"], s["duplicate_bytes"]) == (2 * len(data), len(data), len(data))
    assert s["rejections"] == {"invalid_name": 1, "checksum_mismatch": 1}
    assert s["rejected_uploads"] == 2
    assert s["last_commit_at"] and s["last_seen"] >= s["last_commit_at"]
    lag = s["ingest_lag"]
    assert lag["count"] == 2 and 119 <= lag["mean_seconds"] <= 200
    assert lag["p50_seconds"] == 300 and lag["buckets"][-1] == {"le": "+Inf", "count": 2}
    # Seen by its uploads alone (it never sent a heartbeat).
    assert s["status"] == "healthy" and "pending_objects" not in s


def test_bad_heartbeats_are_refused_with_a_clear_error(live_core, site):
    def post(client, **kw):
        return client.request("POST", "/v1/heartbeat", tus=False, **kw)
    assert_error(post(site, data=b"not json", headers={"Content-Type": "application/json"}), 400, "bad_report")
    body = assert_error(post(site, json={"agent_version": "x"}), 400, "bad_report")
    assert "missing" in body["message"], body
    bad = report(pending=1)
    bad["pending_objects"] = "many"
    assert "pending_objects" in assert_error(post(site, json=bad), 400, "bad_report")["message"]
    bad = report(pending=1, oldest_age=5)
    bad["oldest_captured_at"] = "yesterday"
    assert "oldest_captured_at" in assert_error(post(site, json=bad), 400, "bad_report")["message"]
    bad = report(dropped=-1)
    assert_error(post(site, json=bad), 400, "bad_report")
    bad = report(pending=1)
    bad["streams"][0]["stream"] = "../../etc"
    assert_error(post(site, json=bad), 400, "bad_report")
    assert_error(post(site, data=b"x" * ((1 << 20) + 10)), 413, "too_large")
    # Nothing of that was kept.
    assert "pending_objects" not in site_view(live_core, site.site)


def test_who_may_send_and_read(live_core, site):
    anon = live_core.client(None)
    assert_error(anon.request("POST", "/v1/heartbeat", json=report(), tus=False), 401, "unauthorized")
    assert_error(admin(live_core).request("POST", "/v1/heartbeat", json=report(), tus=False), 403, "forbidden")
    for path in ["/v1/sites", f"/v1/sites/{site.site}", "/v1/sites?history=60"]:
        assert_error(site.request("GET", path, tus=False), 403, "forbidden")
        assert_error(anon.request("GET", path, tus=False), 401, "unauthorized")
    assert_error(admin(live_core).request("GET", "/v1/sites/no-such-site", tus=False), 404, "not_found")
    assert_error(admin(live_core).request("GET", "/v1/sites?history=-3", tus=False), 400, "bad_request")
    assert admin(live_core).request("GET", f"/v1/sites/{site.site}", tus=False).status_code == 200


def test_offline_keeps_the_last_known_backlog(core_factory):
    core = core_factory(env={"TRIBUTARY_OFFLINE_AFTER_SECONDS": "2", "TRIBUTARY_BACKLOG_HISTORY_STEP_SECONDS": "1"})
    dark = core.new_site("dark")
    never = core.new_site("never")
    beat(dark, report(pending=12, pending_bytes=12345, oldest_age=10))
    assert sites_by_name(core)[dark.site]["status"] == "healthy"
    assert sites_by_name(core)[never.site]["status"] == "offline"
    assert sites_by_name(core)[never.site]["status_reason"] == "never seen"
    s = wait_until(lambda: (lambda x: x if x["status"] == "offline" else None)(sites_by_name(core)[dark.site]), 10, 0.2,
                   what="the silent site to be offline")
    assert s["pending_objects"] == 12 and s["pending_bytes"] == 12345, s
    assert s["status_reason"].startswith("silent for")
    # The CLI shows the same.
    rows = cli_table(core)
    assert rows[dark.site]["STATUS"] == "offline" and rows[dark.site]["PENDING"] == "12"
    assert rows[dark.site]["BYTES"] == "12.1 KiB"
    assert rows[never.site]["LAST SEEN"] == "never"
    # It comes back and drains.
    beat(dark, report(pending=0))
    s = sites_by_name(core)[dark.site]
    assert s["status"] == "healthy" and s["pending_objects"] == 0
    assert cli_table(core)[dark.site]["PENDING"] == "0"


def test_cli_json_is_the_api_body(core_factory):
    core = core_factory()
    a = core.new_site("cli")
    beat(a, report(pending=2, oldest_age=5))
    import json
    cli = json.loads(cli_text(core, "sites", "list", "--json"))
    api = fleet(core)
    for k in ["pending_objects", "pending_bytes", "streams", "status", "created_at", "objects_received"]:
        assert cli["sites"][0][k] == api["sites"][0][k], k
    assert set(cli) == set(api)


def test_two_nodes_show_the_same_fleet(core_factory, real_backends):
    """Two core nodes on one PostgreSQL catalog: a heartbeat through one and uploads through the
    other give the same view on both (API and /metrics), counted once."""
    import uuid

    import requests

    from backend_pairs import S3Postgres
    from fleetkit import Metrics

    pg, weed = real_backends
    pair = S3Postgres(pg, weed).shared()
    token = "adm_" + uuid.uuid4().hex
    a = core_factory(backend=pair, env={"TRIBUTARY_ADMIN_TOKEN": token})
    b = core_factory(backend=pair, env={"TRIBUTARY_ADMIN_TOKEN": token})
    site = a.new_site("nodes")
    beat(a.client(site.token, site.site), report(pending=9, pending_bytes=900, oldest_age=60, dropped=2))
    via_b = b.client(site.token, site.site)
    via_b.upload_object(b"1,2\n", "one.csv", captured_at=ago(10))
    via_b.upload_object(b"1,2\n", "same.csv", captured_at=ago(10))
    h = {"Authorization": f"Bearer {token}"}

    def view(node):
        r = requests.get(node.url(f"/v1/sites/{site.site}"), headers=h, timeout=15)
        assert r.status_code == 200, r.text
        v = r.json()
        for volatile in ["seconds_since_seen", "oldest_pending_seconds", "status_reason"]:
            v.pop(volatile, None)
        return v
    va, vb = view(a), view(b)
    assert va == vb
    assert (va["pending_objects"], va["objects_received"], va["objects_stored"], va["duplicates"]) == (9, 2, 1, 1)
    assert va["status"] == "dropping"
    ma = Metrics(requests.get(a.url("/metrics"), headers=h, timeout=15).text)
    mb = Metrics(requests.get(b.url("/metrics"), headers=h, timeout=15).text)
    for name in ["tributary_site_backlog_objects", "tributary_site_objects_stored_total", "tributary_site_duplicates_total",
                 "tributary_site_ingest_lag_seconds_count", "tributary_site_dropped_objects_total"]:
        assert ma.value(name, site=site.site) == mb.value(name, site=site.site) is not None, name
    # The node's own figures are its own: b committed both uploads, a none.
    assert mb.value("tributary_core_uploads_committed_total", kind="object") == 2
    assert ma.value("tributary_core_uploads_committed_total", kind="object") is None


def test_a_refused_empty_upload_is_counted_once(live_core, site):
    # Committed at creation, refused at that commit: one rejection, not one per layer.
    r = site.create(0, {"name": "e.csv", "stream": "s", "sha256": sha256_hex(b"not empty")})
    assert_error(r, 422, "checksum_mismatch")
    assert site_view(live_core, site.site)["rejections"] == {"checksum_mismatch": 1}
