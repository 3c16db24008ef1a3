"""Issue 5: the dashboard page at `/`, rendered by headless Chromium (Debian's `chromium`) against
a live core with sites in every state. Checks what the page shows and saves docs/dashboard.png."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import requests

from conftest import REPO_ROOT, wait_until
from fleetkit import Rows, ago, beat, chromium, dump_dom, report, sites_by_name

@pytest.fixture
def fleet_core(core_factory):
    """A core with one site in each state (heartbeats from the sites' own tokens)."""
    core = core_factory(env={"TRIBUTARY_OFFLINE_AFTER_SECONDS": "3", "TRIBUTARY_BACKLOG_HISTORY_STEP_SECONDS": "1"})
    sites = {name: core.client(core.add_site(name), name) for name in ["quarry", "harbor", "mill", "dam", "depot"]}
    # dam goes dark with a backlog; the others keep reporting.
    for pending in [40, 55, 61]:
        beat(sites["dam"], report(pending=pending, pending_bytes=pending * 100_000, oldest_age=600))
        time.sleep(1.05)
    for pending in [5, 12, 30, 44]:
        beat(sites["mill"], report(pending=pending, oldest_age=3600))  # lagging: oldest pending an hour old
        beat(sites["harbor"], report(pending=3, dropped=pending))       # dropping: the drop counter grows
        beat(sites["quarry"], report(pending=pending % 7, oldest_age=20))
        time.sleep(1.05)
    sites["quarry"].upload_object(b"t,v\n1,2\n", "r.csv", captured_at=ago(4))
    wait_until(lambda: sites_by_name(core)["dam"]["status"] == "offline", 15, 0.2, what="dam to go offline")
    # depot never reported: offline, never seen.
    return core, sites


def test_dashboard_shows_every_site_and_state(fleet_core):
    core, sites = fleet_core
    page = requests.get(core.url("/"), timeout=15)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "connect-src 'self'" in page.headers["Content-Security-Policy"]
    text = page.text.replace("http://www.w3.org/2000/svg", "")  # a namespace name, never fetched
    assert "http://" not in text and "https://" not in text and "//" + "cdn" not in text, "the page must load nothing from elsewhere"

    dom = dump_dom(core.url("/") + f"?token={core.admin_token}")
    parsed = Rows()
    parsed.feed(dom)
    got = {r["site"]: r for r in parsed.rows}
    assert set(got) == {"quarry", "harbor", "mill", "dam", "depot"}, dom[-2000:]
    assert {s: r["status"] for s, r in got.items()} == {
        "quarry": "healthy", "harbor": "dropping", "mill": "lagging", "dam": "offline", "depot": "offline"}
    assert got["dam"]["cells"]["pending"] == "61"
    assert got["dam"]["cells"]["bytes"] == "5.8 MiB"
    assert got["dam"]["cells"]["oldest"].startswith("10m")
    assert got["mill"]["cells"]["pending"] == "44"
    assert got["mill"]["cells"]["oldest"].startswith("1h00m")
    assert got["harbor"]["cells"]["dropped"] == "44"
    assert got["depot"]["cells"]["seen"] == "never"
    assert got["quarry"]["cells"]["lag"] == "≤5s / ≤5s"
    assert got["quarry"]["cells"]["stored"] == "1"
    assert got["dam"].get("points", 0) >= 3 and got["mill"].get("points", 0) >= 3, "backlog charts"
    # Default order: worst first (offline, dropping, lagging, healthy), then by name.
    assert [r["site"] for r in parsed.rows] == ["dam", "depot", "harbor", "mill", "quarry"]
    assert 'id="count-offline"' in dom


def test_dashboard_sorts_by_any_column(fleet_core):
    core, _ = fleet_core
    base = core.url("/") + f"?token={core.admin_token}"
    for fragment, want in [("#sort=-pending_objects", ["dam", "mill", "harbor", "quarry", "depot"]),
                           ("#sort=site", ["dam", "depot", "harbor", "mill", "quarry"]),
                           ("#sort=-site", ["quarry", "mill", "harbor", "depot", "dam"])]:
        parsed = Rows()
        dom = dump_dom(base + fragment)
        parsed.feed(dom)
        assert [r["site"] for r in parsed.rows] == want, fragment
        key = fragment.split("=")[1].lstrip("-")
        assert f'data-key="{key}" class' in dom or f'data-key="{key}"' in dom
        assert ('aria-sort="descending"' if "-" in fragment else 'aria-sort="ascending"') in dom


def test_dashboard_asks_for_a_token(fleet_core):
    core, sites = fleet_core
    dom = dump_dom(core.url("/"))
    assert 'id="login" class=""' in dom or 'id="login">' in dom, "the login form is shown"
    assert 'data-site="' not in dom
    # A site token is refused: the login form again.
    dom = dump_dom(core.url("/") + f"?token={sites['quarry'].token}")
    assert 'data-site="' not in dom and "refused" in dom


def test_dashboard_screenshot(fleet_core):
    core, _ = fleet_core
    out = REPO_ROOT / "docs" / "dashboard.png"
    with tempfile.TemporaryDirectory() as d:
        shot = Path(d) / "dashboard.png"
        proc = chromium("--virtual-time-budget=5000", "--hide-scrollbars", "--window-size=1400,420",
                        f"--screenshot={shot}", core.url("/") + f"?token={core.admin_token}")
        assert proc.returncode == 0 and shot.is_file(), proc.stderr[-3000:]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 10_000, "a blank page would be tiny"
        if os.environ.get("TRIBUTARY_UPDATE_SCREENSHOT") == "1" or not out.exists():
            shutil.copy(shot, out)
