"""Issue 5: the dashboard page at `/`, driven in headless Chromium (Debian's `chromium`) against a
live core with sites in every state: logged in through its form (issue 11: a session cookie, no
token in any address, a CSP without 'unsafe-inline'). Checks what the page shows and saves
docs/dashboard.png."""

from __future__ import annotations

import base64
import os
import threading
import time

import pytest
import requests

from conftest import REPO_ROOT, assert_error, wait_until
from fleetkit import Browser, Rows, ago, beat, report, sites_by_name

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
    # depot never reported: offline, never seen. The reporting sites go on reporting (their last
    # report, once a second) while the browser works, however long it takes to start: only dam
    # and depot are dark.
    stop = threading.Event()

    def keep_reporting():
        while not stop.wait(1.0):
            for name, r in [("mill", report(pending=44, oldest_age=3600)), ("harbor", report(pending=3, dropped=44)),
                            ("quarry", report(pending=44 % 7, oldest_age=20))]:
                try:
                    beat(sites[name], r)
                except (AssertionError, requests.RequestException):
                    pass

    t = threading.Thread(target=keep_reporting, daemon=True)
    t.start()
    yield core, sites
    stop.set()
    t.join(timeout=10)


def test_dashboard_shows_every_site_and_state(fleet_core):
    core, sites = fleet_core
    page = requests.get(core.url("/"), timeout=15)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "connect-src 'self'" in csp and "'unsafe-inline'" not in csp and "script-src 'sha256-" in csp
    text = page.text.replace("http://www.w3.org/2000/svg", "")  # a namespace name, never fetched
    assert "http://" not in text and "https://" not in text and "//" + "cdn" not in text, "the page must load nothing from elsewhere"

    with Browser() as b:
        dom = b.login(core.url("/"), core.admin_token)
        # No token in any address the page loaded or shows, and none in its storage.
        for url in b.urls + [b.eval("location.href")]:
            assert core.admin_token not in url and "token=" not in url, url
        assert b.eval("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)") == "{}{}"
        [cookie] = [c for c in b.cookies() if c["name"] == "tributary_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > time.time()
        assert not cookie["secure"], "plain HTTP here; test_tls.py checks Secure under TLS"
        assert not [m for m in b.console() if "Content Security Policy" in m], b.console()
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
    with Browser() as b:
        b.login(core.url("/"), core.admin_token)
        for fragment, want in [("#sort=-pending_objects", ["dam", "mill", "harbor", "quarry", "depot"]),
                               ("#sort=site", ["dam", "depot", "harbor", "mill", "quarry"]),
                               ("#sort=-site", ["quarry", "mill", "harbor", "depot", "dam"])]:
            b.eval(f"location.hash = {fragment!r}; true")
            b.wait_for(f"location.hash === {fragment!r} && document.querySelector('tr[data-site]').dataset.site === {want[0]!r}",
                       f"the table sorted by {fragment}")
            parsed = Rows()
            dom = b.dom()
            parsed.feed(dom)
            assert [r["site"] for r in parsed.rows] == want, fragment
            key = fragment.split("=")[1].lstrip("-")
            assert f'data-key="{key}" class' in dom or f'data-key="{key}"' in dom
            assert ('aria-sort="descending"' if "-" in fragment else 'aria-sort="ascending"') in dom


def test_dashboard_asks_for_a_token_and_logs_out(fleet_core):
    core, sites = fleet_core
    with Browser() as b:
        b.open(core.url("/"))
        b.wait_for("!document.getElementById('login').classList.contains('hidden')", "the login form")
        assert 'data-site="' not in b.dom()
        # A site token is refused: the login form again, no cookie.
        b.eval(f"document.getElementById('token').value = {sites['quarry'].token!r}; document.getElementById('login').requestSubmit(); true")
        b.wait_for("document.getElementById('updated').textContent.includes('refused')", "the refusal")
        assert 'data-site="' not in b.dom()
        assert not [c for c in b.cookies() if c["name"] == "tributary_session"]
        # Logged in, then out: the cookie is gone and the API refuses the page.
        b.eval(f"document.getElementById('token').value = {core.admin_token!r}; document.getElementById('login').requestSubmit(); true")
        b.wait_for("document.querySelectorAll('tr[data-site]').length > 0", "the fleet table")
        b.eval("document.getElementById('logout').click(); true")
        b.wait_for("!document.getElementById('login').classList.contains('hidden')", "the login form after logging out")
        assert 'data-site="' not in b.dom()
        assert not [c for c in b.cookies() if c["name"] == "tributary_session"]
        assert b.eval("fetch('/v1/sites', {credentials: 'same-origin'}).then(r => r.status)") == 401


def test_session_cookie_grants_reads_only(fleet_core):
    core, sites = fleet_core
    assert_error(requests.post(core.url("/v1/session"), data={"token": sites["quarry"].token}, timeout=15), 401, "unauthorized")
    r = requests.post(core.url("/v1/session"), data={"token": core.admin_token}, timeout=15)
    assert r.status_code == 204
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie and "Secure" not in cookie
    jar = {"tributary_session": r.cookies["tributary_session"]}
    assert requests.get(core.url("/v1/sites"), cookies=jar, timeout=15).status_code == 200
    assert_error(requests.post(core.url("/v1/sites"), json={"site": "by-cookie"}, cookies=jar, timeout=15), 401, "unauthorized")
    forged = {"tributary_session": jar["tributary_session"][:-1] + ("0" if jar["tributary_session"][-1] != "0" else "1")}
    assert_error(requests.get(core.url("/v1/sites"), cookies=forged, timeout=15), 401, "unauthorized")
    out = requests.delete(core.url("/v1/session"), timeout=15)
    assert out.status_code == 204 and "Max-Age=0" in out.headers["Set-Cookie"]


def test_dashboard_screenshot(fleet_core):
    core, _ = fleet_core
    out = REPO_ROOT / "docs" / "dashboard.png"
    with Browser() as b:
        b.send("Emulation.setDeviceMetricsOverride", session=True, width=1400, height=420, deviceScaleFactor=1, mobile=False)
        b.login(core.url("/"), core.admin_token)
        png = base64.b64decode(b.send("Page.captureScreenshot", session=True, format="png")["data"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 10_000, "a blank page would be tiny"
    if os.environ.get("TRIBUTARY_UPDATE_SCREENSHOT") == "1" or not out.exists():
        out.write_bytes(png)
