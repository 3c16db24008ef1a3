"""Issue 5: Prometheus /metrics on the core — per-site figures from the catalog, the node's own
durations and counts, who may read it, and that the text is well-formed."""

from __future__ import annotations

import re

import requests

from conftest import assert_error, sha256_hex
from fleetkit import ago, beat, metrics, report, site_view

SITE_GAUGES = ["tributary_site_backlog_objects", "tributary_site_backlog_bytes", "tributary_site_oldest_pending_age_seconds",
               "tributary_site_last_seen_age_seconds", "tributary_site_spool_fullness_ratio"]
SITE_COUNTERS = ["tributary_site_objects_stored_total", "tributary_site_bytes_stored_total", "tributary_site_duplicates_total",
                 "tributary_site_rejections_total", "tributary_site_dropped_objects_total"]


def test_per_site_figures_equal_the_api(live_core, site, other_site):
    beat(site, report(pending=6, pending_bytes=6000, oldest_age=100, dropped=3))
    data = b"x,y\n" * 50
    site.upload_object(data, "m.csv", captured_at=ago(30))
    site.upload_object(data, "m2.csv", captured_at=ago(30))
    url = site.create_ok(4, {"name": "bad.csv", "stream": "s", "sha256": sha256_hex(b"nope")})
    assert site.patch(url, 0, b"abcd").status_code == 422
    m = metrics(live_core)
    s = site_view(live_core, site.site)
    label = {"site": site.site}
    assert m.value("tributary_site_backlog_objects", **label) == 6
    assert m.value("tributary_site_backlog_bytes", **label) == 6000
    assert 99 <= m.value("tributary_site_oldest_pending_age_seconds", **label) < 200
    assert m.value("tributary_site_last_seen_age_seconds", **label) < 60
    assert m.value("tributary_site_spool_fullness_ratio", **label) == s["spool_fullness"]
    assert m.value("tributary_site_objects_stored_total", **label) == 1
    assert m.value("tributary_site_duplicates_total", **label) == 1
    assert m.value("tributary_site_bytes_stored_total", **label) == len(data)
    assert m.value("tributary_site_objects_received_total", **label) == 2
    assert m.value("tributary_site_rejections_total", site=site.site, reason="checksum_mismatch") == 1
    assert m.value("tributary_site_dropped_objects_total", **label) == 3
    assert m.value("tributary_site_status", site=site.site, status="dropping") == 1
    assert m.value("tributary_site_status", site=site.site, status="healthy") == 0
    assert m.value("tributary_site_ingest_lag_seconds_count", **label) == 2
    assert m.value("tributary_site_ingest_lag_seconds_bucket", site=site.site, le="60") == 2
    assert m.value("tributary_site_ingest_lag_seconds_bucket", site=site.site, le="15") == 0
    # A registered site that never reported: offline, seen never, no backlog samples.
    assert m.value("tributary_site_status", site=other_site.site, status="offline") == 1
    assert m.value("tributary_site_last_seen_age_seconds", site=other_site.site) == float("inf")
    assert m.value("tributary_site_backlog_objects", site=other_site.site) is None
    # The node's own figures.
    assert m.value("tributary_core_commit_duration_seconds_count", kind="object") >= 2
    assert m.value("tributary_core_upload_duration_seconds_count", kind="object") >= 2
    assert m.value("tributary_core_uploads_committed_total", kind="object") >= 2
    assert m.value("tributary_core_uploads_rejected_total", reason="checksum_mismatch") >= 1
    assert m.value("tributary_core_heartbeats_total") >= 1
    assert m.value("tributary_core_fleet_metrics_up") == 1


def test_exposition_is_well_formed(live_core, site):
    beat(site, report(pending=1, oldest_age=5))
    m = metrics(live_core)
    for name in m.names():
        family = m.family(name)
        assert family in m.types, f"{name} has no # TYPE"
        assert re.fullmatch(r"tributary_(core|site)_[a-z0-9_]+", family), family
        if m.types[family] == "counter":
            assert family.endswith("_total"), family
    for name in SITE_GAUGES:
        assert m.types[name] == "gauge", name
    for name in SITE_COUNTERS:
        assert m.types[name] == "counter", name
    for name in ["tributary_site_ingest_lag_seconds", "tributary_core_commit_duration_seconds", "tributary_core_upload_duration_seconds"]:
        assert m.types[name] == "histogram", name


def test_who_may_scrape(live_core, site):
    r = requests.get(live_core.url("/metrics"), timeout=15)
    assert_error(r, 401, "unauthorized")
    r = requests.get(live_core.url("/metrics"), headers={"Authorization": f"Bearer {site.token}"}, timeout=15)
    assert_error(r, 403, "forbidden")


def test_metrics_token(core_factory):
    core = core_factory(env={"TRIBUTARY_METRICS_TOKEN": "scrape-me-0123456789"})
    assert metrics(core, "scrape-me-0123456789").value("tributary_core_fleet_metrics_up") == 1
    assert metrics(core).value("tributary_core_fleet_metrics_up") == 1  # the admin token still reads
    r = requests.get(core.url("/metrics"), headers={"Authorization": "Bearer scrape-me-wrong"}, timeout=15)
    assert_error(r, 401, "unauthorized")
    # The metrics token opens nothing else.
    r = requests.get(core.url("/v1/sites"), headers={"Authorization": "Bearer scrape-me-0123456789"}, timeout=15)
    assert_error(r, 401, "unauthorized")
