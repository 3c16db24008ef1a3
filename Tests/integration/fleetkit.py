"""Helpers for the fleet tests (issue 5): heartbeat bodies, the fleet API, the CLI table."""

from __future__ import annotations

import json
import os
import select
import time
import re
import shutil
import signal
import subprocess
import tempfile
from html.parser import HTMLParser
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from conftest import Client, CoreServer


def rfc3339(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def ago(seconds: float) -> str:
    return rfc3339(datetime.now(timezone.utc) - timedelta(seconds=seconds))


def report(pending: int = 0, pending_bytes: int | None = None, oldest_age: float | None = None, dropped: int = 0,
           streams: dict[str, tuple[int, int]] | None = None, **extra: Any) -> dict[str, Any]:
    """A heartbeat body (Sources/TributaryProtocol/SiteReport.swift) as an edge would send it."""
    pbytes = pending * 1000 if pending_bytes is None else pending_bytes
    oldest = ago(oldest_age) if (oldest_age is not None and pending > 0) else None
    streams = streams if streams is not None else ({"vibration": (pending, pbytes)} if pending else {})
    body = {
        "agent_version": "test-0.5",
        "reported_at": ago(0),
        "streams": [{"stream": s, "pending_objects": n, "pending_bytes": b, "oldest_captured_at": oldest}
                    for s, (n, b) in streams.items()],
        "pending_objects": pending,
        "pending_bytes": pbytes,
        "oldest_captured_at": oldest,
        "spool_used_bytes": pbytes,
        "spool_max_bytes": 1 << 30,
        "spool_used_objects": pending,
        "spool_max_objects": 100000,
        "dropped_objects": dropped,
        "dropped_bytes": dropped * 1000,
        "quarantined_objects": 0,
        "link_state": "up",
        "last_error": None,
        "last_success_at": ago(1),
    }
    body.update(extra)
    return body


def beat(client: Client, body: dict[str, Any]) -> None:
    r = client.request("POST", "/v1/heartbeat", json=body, tus=False)
    assert r.status_code == 204, f"heartbeat: {r.status_code} {r.text}"


def admin(core: CoreServer) -> Client:
    return core.client(core.admin_token)


def fleet(core: CoreServer, history: int | None = None) -> dict[str, Any]:
    path = "/v1/sites" + (f"?history={history}" if history is not None else "")
    r = admin(core).request("GET", path, tus=False)
    assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text}"
    return r.json()


def site_view(core: CoreServer, site: str) -> dict[str, Any]:
    r = admin(core).request("GET", f"/v1/sites/{site}", tus=False)
    assert r.status_code == 200, f"GET /v1/sites/{site}: {r.status_code} {r.text}"
    return r.json()


def sites_by_name(core: CoreServer) -> dict[str, dict[str, Any]]:
    return {s["site"]: s for s in fleet(core)["sites"]}


def cli(core: CoreServer, *args: str) -> str:
    """`tributary-core ARGS` with the server's own environment (its status rules), stdout."""
    proc = subprocess.run([str(core.binary), *args, "--data-dir", str(core.data_dir), *core.backend.cli_args(core)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **core.backend.env(core), **core.env})
    assert proc.returncode == 0, f"tributary-core {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def cli_table(core: CoreServer) -> dict[str, dict[str, str]]:
    """`sites list` parsed by its header's column starts."""
    out = cli(core, "sites", "list").splitlines()
    header = out[0]
    names = ["SITE", "STATUS", "PENDING", "BYTES", "OLDEST PENDING", "LAG P50/P95", "LAST SEEN", "DROPPED", "STORED"]
    starts = [header.index(n) for n in names]
    rows = {}
    for line in out[1:]:
        cells = [line[s:(starts[i + 1] if i + 1 < len(starts) else None)].strip() for i, s in enumerate(starts)]
        rows[cells[0]] = dict(zip(names, cells))
    return rows


# --------------------------------------------------------------------------------------------
# /metrics

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """A parsed Prometheus text exposition: `types[family]`, `value(name, **labels)`."""

    def __init__(self, text: str):
        self.text = text
        self.types: dict[str, str] = {}
        self.samples: list[tuple[str, dict[str, str], float]] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                assert name not in self.types, f"TYPE given twice for {name}"
                self.types[name] = kind
                continue
            if line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            labels = dict(_LABEL.findall(m.group(2) or ""))
            self.samples.append((m.group(1), labels, float(m.group(3))))

    def family(self, sample_name: str) -> str:
        for suffix in ("_bucket", "_sum", "_count"):
            base = sample_name[: -len(suffix)]
            if sample_name.endswith(suffix) and self.types.get(base) == "histogram":
                return base
        return sample_name

    def value(self, name: str, **labels: str) -> float | None:
        for n, l, v in self.samples:
            if n == name and all(l.get(k) == str(x) for k, x in labels.items()):
                return v
        return None

    def names(self) -> set[str]:
        return {n for n, _, _ in self.samples}


def metrics(core: CoreServer, token: str | None = None) -> Metrics:
    r = requests.get(core.url("/metrics"), headers={"Authorization": f"Bearer {token or core.admin_token}"}, timeout=15)
    assert r.status_code == 200, f"/metrics: {r.status_code} {r.text[:300]}"
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    return Metrics(r.text)


# --------------------------------------------------------------------------------------------
# The dashboard in headless Chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Rows(HTMLParser):
    """The dashboard's table rows: data-* attributes and the text of each cell by class."""

    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []
        self._cell: str | None = None
        self.texts: dict[str, str] = {}
        self.svg_points: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-site" in a:
            self.rows.append({"site": a["data-site"], "status": a.get("data-status"), "cells": {}})
        elif tag == "td" and self.rows:
            self._cell = (a.get("class") or "").split()[-1] if a.get("class") else "?"
            self.rows[-1]["cells"][self._cell] = ""
        elif tag == "svg" and self.rows and "data-points" in a:
            self.rows[-1]["points"] = int(a["data-points"])

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None

    def handle_data(self, data):
        if self._cell and self.rows:
            self.rows[-1]["cells"][self._cell] += data


def page_rows(core: CoreServer) -> dict[str, dict]:
    """What the dashboard shows, row by site, after logging in through its form."""
    with Browser() as b:
        parsed = Rows()
        parsed.feed(b.login(core.url("/"), core.admin_token))
        return {r["site"]: r for r in parsed.rows}


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
    JSON messages ended by NUL, commands on fd 3, answers and events on fd 4). Every request the
    page made is in `urls`."""

    def __init__(self, timeout: float = 60):
        if CHROMIUM is None:
            pytest.fail("chromium is not installed: run scripts/bootstrap.sh (Debian package `chromium`)", pytrace=False)
        self.timeout = timeout
        self.profile = tempfile.TemporaryDirectory(prefix="tributary-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w}', CHROMIUM,
             "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={self.profile.name}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)  # its own process group: chromium's helpers end with it
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._next = 0
        self.events: list[dict] = []
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        # Chromium's renderer and zygote processes outlive the browser process and keep writing to
        # the profile: end the whole group, wait, then remove the profile.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        os.close(self._to_child)
        os.close(self._from_child)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.profile.cleanup()
                return
            except OSError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def _read(self) -> dict:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._from_child], [], [], self.timeout)
            assert ready, "chromium did not answer"
            chunk = os.read(self._from_child, 1 << 20)
            assert chunk, "chromium closed the pipe"
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, session: bool = False, **params) -> dict:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read()
            if m.get("id") == self._next:
                assert "error" not in m, f"{method}: {m['error']}"
                return m.get("result", {})
            self.events.append(m)

    def eval(self, expression: str):
        r = self.send("Runtime.evaluate", session=True, expression=expression, awaitPromise=True, returnByValue=True)
        assert "exceptionDetails" not in r, r["exceptionDetails"]
        return r["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while True:
            v = self.eval(expression)
            if v:
                return v
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)

    def open(self, url: str) -> None:
        self.send("Page.navigate", session=True, url=url)
        self.wait_for("document.readyState === 'complete'", "the page to load")

    def login(self, url: str, token: str) -> str:
        """Opens the dashboard, logs in through its form, waits for the table; returns the DOM."""
        self.open(url)
        self.wait_for("!document.getElementById('login').classList.contains('hidden')", "the login form")
        self.eval(f"document.getElementById('token').value = {json.dumps(token)}; "
                  "document.getElementById('login').requestSubmit(); true")
        self.wait_for("document.querySelectorAll('tr[data-site]').length > 0", "the fleet table")
        return self.dom()

    def dom(self) -> str:
        return self.eval("document.documentElement.outerHTML")

    @property
    def urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def cookies(self) -> list[dict]:
        return self.send("Network.getCookies", session=True)["cookies"]

    def console(self) -> list[str]:
        return [e["params"]["entry"]["text"] for e in self.events if e.get("method") == "Log.entryAdded"]
