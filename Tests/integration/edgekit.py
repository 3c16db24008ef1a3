"""Helpers for the edge tests: real `tributary-edge` agents and the `tributary-faultproxy`.

Binaries come from the directory of TRIBUTARY_CORE_BIN (scripts/test.sh sets it to the debug build),
or TRIBUTARY_EDGE_BIN / TRIBUTARY_FAULTPROXY_BIN.

- `EdgeAgent`  — one agent with its own inbox, spool and TOML config; start/stop/kill, `status()`
                 (the CLI's JSON), `put()`, a read-only view of the journal, peak RSS sampling.
- `FaultProxy` — the project's fault-injecting TCP proxy between agents and a core; `stats()`.
- `lake_arrivals` / `assert_exactly_once` — what the core's catalog and lake hold for a site.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from backend_pairs import FsSqlite
from conftest import REPO_ROOT, CoreServer, free_port, sigterm_and_wait, wait_until


def _binary(env_name: str, name: str) -> Path:
    if os.environ.get(env_name):
        path = Path(os.environ[env_name])
    else:
        core = Path(os.environ.get("TRIBUTARY_CORE_BIN", REPO_ROOT / ".build/debug/tributary-core"))
        path = core.parent / name
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"{name} binary not found at {path}: run `swift build` or set {env_name}", pytrace=False)
    return path


def edge_binary() -> Path:
    return _binary("TRIBUTARY_EDGE_BIN", "tributary-edge")


def proxy_binary() -> Path:
    return _binary("TRIBUTARY_FAULTPROXY_BIN", "tributary-faultproxy")


# Settings that make tests quick: short settle and batching windows, fast retries.
FAST = {
    "settle_ms": 200,
    "poll_ms": 100,
    "segment_max_age_ms": 200,
    "retry_base_ms": 50,
    "retry_cap_ms": 1000,
    "stall_seconds": 3,
    "connect_timeout_seconds": 2,
}


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


class EdgeAgent:
    """One `tributary-edge run` process with its own directory (inbox/, spool/, edge.toml, edge.log)."""

    def __init__(self, workdir: Path, core_url: str | list[str], site: str, token: str, **settings: Any):
        self.binary = edge_binary()
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.inbox = self.dir / "inbox"
        self.spool = self.dir / "spool"
        self.inbox.mkdir(exist_ok=True)
        self.site = site
        self.settings: dict[str, Any] = {
            "site": site, "token": token, "core_url": core_url,
            "inbox": str(self.inbox), "spool_dir": str(self.spool), "log_level": "debug",
            **FAST, **settings,
        }
        self.config = self.dir / "edge.toml"
        # TOML appended after the [edge] settings (e.g. `[[source]]` tables).
        self.extra_toml = ""
        self.write_config()
        self.log_path = self.dir / "edge.log"
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.peak_rss_kb = 0
        self._sampler: threading.Thread | None = None

    def write_config(self, **changes: Any) -> None:
        self.settings.update(changes)
        lines = [f"{k} = {toml_value(v)}" for k, v in self.settings.items() if v is not None]
        self.config.write_text("[edge]\n" + "\n".join(lines) + "\n" + self.extra_toml)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, env: dict[str, str] | None = None) -> "EdgeAgent":
        assert not self.alive, "already running"
        full_env = dict(os.environ)
        full_env.pop("TRIBUTARY_EDGE_CRASH", None)
        full_env.update(env or {})
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n=== start env={env or {}}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(
            [str(self.binary), "run", "--config", str(self.config)],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=full_env)
        self._sampler = threading.Thread(target=self._sample_rss, args=(self.proc,), daemon=True)
        self._sampler.start()
        # Up once the live status file appears (the agent writes it within a second of start).
        status_file = self.spool / "agent-status.json"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if env and "TRIBUTARY_EDGE_CRASH" in env:
                    return self  # crashed early on purpose
                raise AssertionError(f"tributary-edge exited {self.proc.returncode} at start\n{self.log_tail()}")
            if status_file.exists() and status_file.stat().st_mtime >= time.time() - 5:
                return self
            time.sleep(0.05)
        raise AssertionError(f"tributary-edge did not come up\n{self.log_tail()}")

    def _sample_rss(self, proc: subprocess.Popen) -> None:
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.1)

    def current_rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self, timeout: float = 8) -> int:
        # Under the agent's 10 s grace period: an agent whose services do not end on SIGTERM (and
        # so wait out the grace) fails the test instead of only slowing every teardown.
        if not self.alive:
            return self.proc.returncode if self.proc else 0
        try:
            return sigterm_and_wait(self.proc, timeout, "tributary-edge", self.log_tail)
        finally:
            self._close_log()

    def kill(self) -> None:
        if self.alive:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._close_log()

    def wait_exit(self, timeout: float = 30) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout=timeout)
        self._close_log()
        return code

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, chars: int = 6000) -> str:
        return f"--- tail of {self.log_path} ---\n{self.log_text()[-chars:]}"

    # -- CLI ---------------------------------------------------------------------------------

    def cli(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run([str(self.binary), *args, "--config", str(self.config)],
                              capture_output=True, text=True, timeout=120, env=full_env)
        if check:
            assert proc.returncode == 0, (
                f"tributary-edge {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def status(self) -> dict[str, Any]:
        return json.loads(self.cli("status", "--json").stdout)

    def put(self, *files: Path | str, stream: str | None = None, captured_at: str | None = None,
            check: bool = True, move: bool = False, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        args = ["put", "--move"] if move else ["put"]
        if stream:
            args += ["--stream", stream]
        if captured_at:
            args += ["--captured-at", captured_at]
        return self.cli(*args, *[str(f) for f in files], check=check, env=env)

    # -- the journal, read-only ----------------------------------------------------------------

    def journal(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.spool / 'journal.sqlite'}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def drained(self, acked: int | None = None) -> bool:
        s = self.status()
        if acked is not None and s["counters"].get("acked_objects", 0) < acked:
            return False
        return s["pending_objects"] == 0 and s["spool"]["batches"] == 0

    def wait_drained(self, timeout: float = 60, acked: int | None = None) -> dict[str, Any]:
        """Waits until nothing is pending (and, if given, at least `acked` objects were delivered)."""
        if acked is None:
            time.sleep(max(0.5, 3 * FAST["settle_ms"] / 1000))  # let intake see what was dropped
        try:
            wait_until(lambda: self.drained(acked), timeout, 0.2, what=f"edge {self.site} to drain")
        except AssertionError as e:
            raise AssertionError(f"{e}\nstatus: {json.dumps(self.status(), indent=1)[:3000]}\n{self.log_tail()}") from None
        return self.status()

    def drop(self, rel: str, data: bytes) -> Path:
        """Writes a file into the inbox atomically (hidden temp name, then rename)."""
        path = self.inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.tmp"
        tmp.write_bytes(data)
        os.rename(tmp, path)
        return path


class FaultProxy:
    """`tributary-faultproxy` in front of a core. Flags as the tool takes them (docs/FAULTPROXY.md)."""

    def __init__(self, workdir: Path, target_port: int, *args: str):
        self.binary = proxy_binary()
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.target_port = target_port
        self.args = list(args)
        self.stats_path = self.dir / "proxy-stats.json"
        self.log_path = self.dir / "proxy.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "FaultProxy":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(self.binary), "--listen", f"127.0.0.1:{self.port}", "--target", f"127.0.0.1:{self.target_port}",
             "--stats", str(self.stats_path), "--log-level", "info", *self.args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        import socket
        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"faultproxy exited {self.proc.returncode}\n{self.log_path.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return False
        wait_until(listening, 15, 0.05, what="the fault proxy to listen")
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        def read():
            try:
                return json.loads(self.stats_path.read_text())
            except (OSError, ValueError):
                return None
        return wait_until(read, 5, 0.05, what="proxy stats")

    def link(self, up: bool) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGUSR2 if up else signal.SIGUSR1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------
# What arrived


def arrivals(core: CoreServer, site: str) -> list[dict[str, Any]]:
    rows = core.query(
        "SELECT stream, name, sha256, size, status, key, upload_id, captured_at FROM arrivals WHERE site = ? ORDER BY received_at, upload_id, seq",
        (site,))
    keys = ["stream", "name", "sha256", "size", "status", "key", "upload_id", "captured_at"]
    return [dict(zip(keys, r)) for r in rows]


def assert_exactly_once(core: CoreServer, site: str, expected: dict[tuple[str, str], bytes]) -> list[dict[str, Any]]:
    """Every (stream, name) in `expected` arrived exactly once, and its lake file holds exactly its bytes."""
    got = arrivals(core, site)
    seen: dict[tuple[str, str], int] = {}
    for a in got:
        seen[(a["stream"], a["name"])] = seen.get((a["stream"], a["name"]), 0) + 1
    missing = sorted(set(expected) - set(seen))
    extra = sorted(set(seen) - set(expected))
    twice = sorted(k for k, n in seen.items() if n > 1)
    assert not missing, f"{len(missing)} objects never arrived: {missing[:10]}"
    assert not extra, f"unexpected arrivals: {extra[:10]}"
    assert not twice, f"arrived more than once: {twice[:10]}"
    for a in got:
        data = expected[(a["stream"], a["name"])]
        assert a["sha256"] == hashlib.sha256(data).hexdigest(), f"{a['name']}: sha256 differs"
        if isinstance(core.backend, FsSqlite):
            path = core.lake / a["key"]  # streamed: objects may be large
            assert path.is_file(), f"{a['key']} not in the lake"
            assert path.stat().st_size == len(data), f"{a['key']}: size {path.stat().st_size} != {len(data)}"
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            got_sha = h.hexdigest()
        else:
            body = core.read_lake(a["key"])
            assert body is not None, f"{a['key']} not in the lake"
            got_sha = hashlib.sha256(body).hexdigest()
        assert got_sha == a["sha256"], f"{a['key']}: lake bytes differ"
    return got


@pytest.fixture
def edge_factory(tmp_path):
    """Makes agents: `edge_factory(core_url, site, token, **settings)`. At teardown every agent still
    running must exit 0 on SIGTERM with an intact journal."""
    agents: list[EdgeAgent] = []
    counter = iter(range(1000))

    def make(core_url: str | list[str], site: str, token: str, **settings: Any) -> EdgeAgent:
        a = EdgeAgent(tmp_path / f"edge{next(counter)}", core_url, site, token, **settings)
        agents.append(a)
        return a

    yield make
    failures = []
    for a in agents:
        if a.alive:
            code = a.stop()
            if code != 0:
                failures.append(f"{a.site}: exit {code} on SIGTERM\n{a.log_tail()}")
        if (a.spool / "journal.sqlite").exists():
            ok = a.journal("PRAGMA integrity_check")[0][0]
            if ok != "ok":
                failures.append(f"{a.site}: journal integrity_check: {ok}")
    assert not failures, "\n".join(failures)


@pytest.fixture
def proxy_factory(tmp_path):
    proxies: list[FaultProxy] = []

    def make(target_port: int, *args: str) -> FaultProxy:
        p = FaultProxy(tmp_path / f"proxy{len(proxies)}", target_port, *args)
        proxies.append(p)
        return p.start()

    yield make
    for p in proxies:
        p.stop()
