"""Helpers for the fleet tests (issue 5): heartbeat bodies, the fleet API, the CLI table."""

from __future__ import annotations

import os
import re
import shutil
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


def chromium(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    """One headless Chromium run with a throw-away profile; no sandbox (tests run as root)."""
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run scripts/bootstrap.sh (Debian package `chromium`)", pytrace=False)
    with tempfile.TemporaryDirectory(prefix="tributary-chromium-") as profile:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--metrics-recording-only", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


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


def dump_dom(url: str) -> str:
    proc = chromium("--virtual-time-budget=5000", "--dump-dom", url)
    assert proc.returncode == 0, f"chromium exited {proc.returncode}\n{proc.stderr[-3000:]}"
    return proc.stdout


def page_rows(core: CoreServer) -> dict[str, dict]:
    """What the dashboard shows, row by site, after its script ran."""
    parsed = Rows()
    parsed.feed(dump_dom(core.url("/") + f"?token={core.admin_token}"))
    return {r["site"]: r for r in parsed.rows}
