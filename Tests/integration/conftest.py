"""Shared helpers for the integration suite: a real `tributary-core` process on 127.0.0.1.

The suite runs the binary named by `TRIBUTARY_CORE_BIN` (scripts/test.sh sets it to the debug
build; default: `.build/debug/tributary-core` under the repository root). Every server gets its
own temporary data directory and a free loopback port; its stdout/stderr go to `core.log` beside
the data directory and the tail of that log is attached to any failing test's report.

Fixtures:
- `core`      — one server for the whole session (tests use fresh site names, so they do not
                interfere); after each test it must still answer /healthz.
- `site`      — a freshly registered site on `core`, as a `Client`.
- `core_factory` — starts servers with their own options (expiry, idle timeout, failpoints) for
                tests that kill, restart or reconfigure; each is stopped with SIGTERM at teardown
                and must exit 0.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urljoin, urlsplit

import pytest
import requests
import zstandard

from backend_pairs import FsSqlite, S3Postgres, manifest_lines, object_keys
from backends import Postgres, SeaweedFS

REPO_ROOT = Path(__file__).resolve().parents[2]
TUS = {"Tus-Resumable": "1.0.0"}
OCTET = "application/offset+octet-stream"
HTTP_TIMEOUT = 15  # seconds, for every request the suite makes
SESSION_MAX_UPLOAD = 64 * 1024 * 1024


def core_binary() -> Path:
    path = Path(os.environ.get("TRIBUTARY_CORE_BIN", REPO_ROOT / ".build/debug/tributary-core"))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"tributary-core binary not found at {path}: run `swift build` or set TRIBUTARY_CORE_BIN",
            pytrace=False,
        )
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Polls `predicate` until it returns a truthy value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def sigterm_and_wait(proc: subprocess.Popen, timeout: float, what: str, log_tail) -> int:
    """SIGTERM and wait; returns the exit code. Kills and fails if it does not exit in time."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError(f"{what} did not exit within {timeout}s of SIGTERM\n{log_tail()}")


# --------------------------------------------------------------------------------------------
# The server process


class CoreServer:
    """One `tributary-core serve` process with its data directory and port.

    The port stays the same across restarts so upload URLs keep working.
    """

    def __init__(self, data_dir: Path, args: Iterable[str] = (), env: dict[str, str] | None = None,
                 backend: FsSqlite | S3Postgres | None = None):
        self.binary = core_binary()
        self.backend = backend or FsSqlite()
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.args = list(args)
        self.env = dict(env or {})
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-core.log"
        self.proc: subprocess.Popen | None = None
        self._log = None
        # TLS (tlskit.py sets these): the scheme, the CA bundle that verifies the server and the
        # client certificate (cert, key) every request of the suite presents.
        self.scheme = "http"
        self.verify: str | bool = True
        self.client_cert: tuple[str, str] | None = None
        self.backend.attach(self)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, env: dict[str, str | None] | None = None, timeout: float = 30) -> "CoreServer":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        full_env = dict(os.environ)
        full_env.pop("TRIBUTARY_FAILPOINTS", None)
        full_env.update(self.backend.env(self))
        full_env.update(self.env)
        for k, v in (env or {}).items():  # None removes a variable
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
        cmd = [
            str(self.binary), "serve",
            "--data-dir", str(self.data_dir),
            "--listen", f"127.0.0.1:{self.port}",
            *self.backend.serve_args(self),
            *self.args,
        ]
        self._log = open(self.log_path, "ab")
        shown = {k: full_env.get(k) for k in sorted(set(self.env) | set(env or {}))}
        self._log.write(f"\n=== start {' '.join(cmd)} env={shown}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=full_env)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"tributary-core exited with {self.proc.returncode} during start-up\n{self.log_tail()}")
            try:
                if requests.get(self.url("/healthz"), timeout=2, verify=self.verify, cert=self.client_cert).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() >= deadline:
                self.kill()
                raise AssertionError(f"tributary-core not healthy within {timeout}s\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM and wait; returns the exit code (kills and fails if it does not exit in time)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        try:
            return sigterm_and_wait(self.proc, timeout, "tributary-core", self.log_tail)
        finally:
            self._close_log()

    def kill(self) -> None:
        """SIGKILL: a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._close_log()

    def restart(self, env: dict[str, str] | None = None) -> "CoreServer":
        if self.alive:
            code = self.stop()
            assert code == 0, f"exit code {code} on SIGTERM"
        return self.start(env=env)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 6000) -> str:
        try:
            text = self.log_path.read_bytes()[-chars:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return f"--- tail of {self.log_path} ---\n{text}"

    # -- addresses and credentials ----------------------------------------------------------

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        return urljoin(self.base + "/", path.lstrip("/"))

    @property
    def uploads_url(self) -> str:
        return self.url("/v1/uploads")

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin.token").read_text().strip()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(self.binary), *args, "--data-dir", str(self.data_dir), *self.backend.cli_args(self)],
            capture_output=True, text=True, timeout=60)
        if check:
            assert proc.returncode == 0, (
                f"tributary-core {' '.join(args)} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def add_site(self, name: str) -> str:
        """Registers `name` with the CLI (works while serving); returns its token."""
        out = self.cli("sites", "add", name).stdout
        lines = [l.strip() for l in out.splitlines() if l.strip()]
        assert lines, f"`sites add {name}` printed nothing"
        return lines[-1]

    def client(self, token: str | None, site: str | None = None) -> "Client":
        return Client(self, token, site)

    def new_site(self, prefix: str = "site") -> "Client":
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        return self.client(self.add_site(name), name)

    # -- what is on disk --------------------------------------------------------------------

    @property
    def lake(self) -> Path:
        return self.data_dir / "lake"

    @property
    def staging(self) -> Path:
        return self.data_dir / "staging"

    def lake_files(self, site: str | None = None) -> list[str]:
        """Object keys in the lake, excluding `_tributary/`; optionally one site's (any backend)."""
        return object_keys(self.backend, self, site)

    def read_lake(self, key: str) -> bytes | None:
        """The bytes under a lake key (any backend), None if absent."""
        return self.backend.read(self, key)

    def staging_entries(self) -> set[str]:
        if not self.staging.is_dir():
            return set()
        return {p.name for p in self.staging.iterdir()}

    def arrival_manifest_lines(self, upload_id: str | None = None) -> list[dict[str, Any]]:
        """Parsed lines of every arrival manifest (`_tributary/arrivals/**/*.jsonl`)."""
        return manifest_lines(self.backend, self, upload_id)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Runs a read-only query (`?` placeholders) on the catalog, SQLite or PostgreSQL."""
        return self.backend.query(self, sql, params)

    def count(self, sql: str, params: tuple = ()) -> int:
        return self.query(sql, params)[0][0]

    def healthy(self) -> bool:
        try:
            return requests.get(self.url("/healthz"), timeout=5, verify=self.verify, cert=self.client_cert).status_code == 200
        except requests.RequestException:
            return False


# --------------------------------------------------------------------------------------------
# HTTP client


def b64(s: str | bytes) -> str:
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def encode_metadata(md: dict[str, str | None]) -> str:
    """tus Upload-Metadata: `key base64(value)` pairs; a None value gives a bare key."""
    return ",".join(k if v is None else f"{k} {b64(v)}" for k, v in md.items())


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def upload_id_of(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


class Client:
    """Raw HTTP against one core with one bearer token (None: no Authorization header)."""

    def __init__(self, core: CoreServer, token: str | None, site: str | None = None):
        self.core = core
        self.token = token
        self.site = site
        self.http = requests.Session()
        self.http.verify = core.verify
        self.http.cert = core.client_cert
        if core.verify is not True:
            self.http.trust_env = False  # REQUESTS_CA_BUNDLE would win over the session's CA otherwise

    def headers(self, extra: dict[str, str] | None = None, tus: bool = True) -> dict[str, str]:
        h: dict[str, str] = {}
        if tus:
            h.update(TUS)
        if self.token is not None:
            h["Authorization"] = f"Bearer {self.token}"
        if extra:
            h.update(extra)
        return h

    def request(self, method: str, path_or_url: str, *, headers=None, tus=True, **kw) -> requests.Response:
        url = path_or_url if path_or_url.startswith("http") else self.core.url(path_or_url)
        kw.setdefault("timeout", HTTP_TIMEOUT)
        return self.http.request(method, url, headers=self.headers(headers, tus), **kw)

    # -- tus --------------------------------------------------------------------------------

    def create(self, length: int | None, metadata: dict[str, str | None] | str | None = None,
               headers: dict[str, str] | None = None) -> requests.Response:
        h = dict(headers or {})
        if length is not None:
            h["Upload-Length"] = str(length)
        if metadata is not None:
            h["Upload-Metadata"] = metadata if isinstance(metadata, str) else encode_metadata(metadata)
        return self.request("POST", "/v1/uploads", headers=h)

    def create_ok(self, length: int, metadata: dict[str, str | None]) -> str:
        r = self.create(length, metadata)
        assert r.status_code == 201, f"create: {r.status_code} {r.text}"
        loc = r.headers.get("Location")
        assert loc, "201 without Location"
        return urljoin(self.core.base + "/", loc)

    def patch(self, url: str, offset: int, body: bytes, *, checksum: str | None = None,
              content_type: str | None = OCTET, headers: dict[str, str] | None = None) -> requests.Response:
        h = {"Upload-Offset": str(offset)}
        if content_type is not None:
            h["Content-Type"] = content_type
        if checksum is not None:
            h["Upload-Checksum"] = checksum
        if headers:
            h.update(headers)
        return self.request("PATCH", url, headers=h, data=body)

    def head(self, url: str) -> requests.Response:
        return self.request("HEAD", url)

    def get(self, url: str) -> requests.Response:
        return self.request("GET", url)

    def delete(self, url: str) -> requests.Response:
        return self.request("DELETE", url)

    def offset(self, url: str) -> int:
        r = self.head(url)
        assert r.status_code == 200, f"HEAD {url}: {r.status_code}"
        return int(r.headers["Upload-Offset"])

    def send_all(self, url: str, data: bytes, chunk: int, start: int = 0, checksum: bool = True) -> requests.Response:
        """PATCHes data[start:] in chunks; every non-final PATCH must answer 204. Returns the last answer."""
        offset = start
        r = None
        while offset < len(data):
            body = data[offset:offset + chunk]
            r = self.patch(url, offset, body, checksum=f"sha256 {sha256_b64(body)}" if checksum else None)
            if offset + len(body) < len(data):
                assert r.status_code == 204, f"PATCH at {offset}: {r.status_code} {r.text}"
                assert int(r.headers["Upload-Offset"]) == offset + len(body)
            offset += len(body)
        assert r is not None
        return r

    def upload_object(self, data: bytes, name: str, stream: str = "vibration", *, chunk: int = 1 << 20,
                      captured_at: str | None = "2026-11-21T10:00:00Z", encoding: str | None = None,
                      body: bytes | None = None, sha256: str | None = "auto",
                      extra_md: dict[str, str | None] | None = None) -> tuple[str, requests.Response]:
        """Creates and uploads one object (body = data, or the given encoded body); returns (url, final answer)."""
        payload = data if body is None else body
        md: dict[str, str | None] = {"name": name, "stream": stream}
        if sha256 == "auto":
            md["sha256"] = sha256_hex(data)
        elif sha256 is not None:
            md["sha256"] = sha256
        if captured_at is not None:
            md["captured-at"] = captured_at
        if encoding is not None:
            md["encoding"] = encoding
        md.update(extra_md or {})
        url = self.create_ok(len(payload), md)
        if not payload:
            return url, None  # committed at creation
        return url, self.send_all(url, payload, chunk)

    def upload_segment(self, seg: bytes, *, chunk: int = 1 << 20, sha256: str | None = "auto") -> tuple[str, requests.Response]:
        md: dict[str, str | None] = {"kind": "segment"}
        if sha256 == "auto":
            md["sha256"] = sha256_hex(seg)
        elif sha256 is not None:
            md["sha256"] = sha256
        url = self.create_ok(len(seg), md)
        return url, self.send_all(url, seg, chunk)

    def receipt(self, url: str) -> dict[str, Any]:
        r = self.get(url)
        assert r.status_code == 200, f"GET receipt: {r.status_code} {r.text}"
        return r.json()

    def have(self, hashes: Any) -> requests.Response:
        return self.request("POST", "/v1/have", json={"sha256": hashes} if isinstance(hashes, list) else hashes)


def assert_error(r: requests.Response, status: int, codes: str | Iterable[str] | None = None) -> dict | None:
    """Checks the status and, for answers with a body, the documented JSON error body."""
    allowed = {codes} if isinstance(codes, str) else (set(codes) if codes is not None else None)
    assert r.status_code == status, (
        f"{r.request.method} {r.request.path_url}: expected {status} {allowed or ''}, "
        f"got {r.status_code} {r.text[:500]!r}")
    if r.request.method == "HEAD":
        return None
    try:
        body = r.json()
    except ValueError:
        raise AssertionError(f"{status} answer without a JSON body: {r.text[:500]!r}")
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and isinstance(body.get("message"), str), \
        f"error body not {{error, message}}: {body!r}"
    if allowed is not None:
        assert body["error"] in allowed, f"expected error code {sorted(allowed)}, got {body!r}"
    return body


# --------------------------------------------------------------------------------------------
# Lake keys (mirror of TributaryProtocol.Names.lakeName)

_ALNUM = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_COMPRESSION_EXT = {"gz", "zst", "bz2", "xz", "lz4", "snappy"}


def sanitize_component(c: str) -> str:
    out = bytearray(b if (b in _ALNUM or b in b"_-.") else ord("_") for b in c.encode())
    if out[:1] == b".":
        out[0] = ord("_")
    return out.decode()


def _split_ext(component: str) -> tuple[str, str]:
    pieces = component.split(".")
    if len(pieces) <= 1 or not pieces[0]:
        return component, ""
    n = 2 if (pieces[-1].lower() in _COMPRESSION_EXT and len(pieces) > 2) else 1
    exts = pieces[-n:]
    if not all(e and len(e.encode()) <= 10 and all(b in _ALNUM for b in e.encode()) for e in exts):
        return component, ""
    return ".".join(pieces[:-n]), "." + ".".join(exts)


def lake_name(name: str, sha: str) -> str:
    parts = [sanitize_component(p) for p in name.split("/")]
    stem, ext = _split_ext(parts.pop())
    parts.append(f"{stem}.{sha[:16]}{ext}")
    return "/".join(parts)


def utc_date(rfc3339: str) -> str:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).astimezone(timezone.utc).strftime("%Y-%m-%d")


def expected_key(stream: str, site: str, captured_at: str, name: str, sha: str) -> str:
    return f"stream={stream}/site={site}/date={utc_date(captured_at)}/{lake_name(name, sha)}"


# --------------------------------------------------------------------------------------------
# Segments


@dataclass
class Entry:
    """One manifest entry plus its bytes (None for a `ref` entry whose bytes are left out)."""
    stream: str
    name: str
    data: bytes = b""
    captured_at: str | None = "2026-11-21T10:00:00Z"
    ref: bool = False
    size: int | None = None      # manifest size override
    sha256: str | None = None    # manifest sha256 override

    def manifest(self) -> dict[str, Any]:
        m: dict[str, Any] = {
            "stream": self.stream, "name": self.name,
            "size": len(self.data) if self.size is None else self.size,
            "sha256": sha256_hex(self.data) if self.sha256 is None else self.sha256,
            "ref": self.ref,
        }
        if self.captured_at is not None:
            m["captured_at"] = self.captured_at
        return m

    @property
    def member(self) -> str:
        return f"{self.stream}/{self.name}"


def _tar_member(path: str, data: bytes, fmt=tarfile.USTAR_FORMAT) -> bytes:
    info = tarfile.TarInfo(path)
    info.size = len(data)
    info.mtime = 1_700_000_000
    info.mode = 0o644
    info.type = tarfile.REGTYPE
    pad = (-len(data)) % 512
    return info.tobuf(format=fmt, encoding="utf-8", errors="strict") + data + b"\0" * pad


def zstd_compress(data: bytes, checksum: bool = True) -> bytes:
    return zstandard.ZstdCompressor(level=3, write_checksum=checksum).compress(data)


def make_tar(members: list[tuple[str, bytes]], *, end_marker: bool = True, trailing: bytes = b"",
             fmt=tarfile.PAX_FORMAT) -> bytes:
    tar = b"".join(_tar_member(p, d, fmt) for p, d in members)
    if end_marker:
        tar += b"\0" * 1024
    return tar + trailing


def make_segment(
    entries: list[Entry],
    *,
    omit: Iterable[str] = (),
    extra: Iterable[tuple[str, bytes]] = (),
    order: list[str] | None = None,
    member_data: dict[str, bytes] | None = None,
    manifest: dict[str, Any] | bytes | None = None,
    manifest_position: int | None = 0,
    end_marker: bool = True,
    trailing: bytes = b"",
    corrupt: str | None = None,
    frames: int = 1,
) -> bytes:
    """Builds a segment (`.tar.zst`) and, on request, breaks it in one precise way.

    - `omit`: member paths (`stream/name`) left out although the manifest lists them;
    - `extra`: (path, bytes) members appended that the manifest does not list;
    - `order`: member paths in the order to write them (default: manifest order of non-ref
      entries); a path no entry has takes its bytes from `member_data`;
    - `member_data`: bytes written for a member instead of its entry's data;
    - `manifest`: replaces the manifest (dict → JSON, bytes → as is);
    - `manifest_position`: index among the members where the manifest goes (None: no manifest);
    - `end_marker`: False leaves out the two zero blocks that end a tar; `trailing`: bytes after;
    - `corrupt`: "truncate" cuts the zstd stream in half; "magic" breaks the frame's magic
      number; "checksum" flips the frame's content checksum;
    - `frames`: split the tar into this many concatenated zstd frames.
    """
    man = manifest if manifest is not None else {
        "format": "tributary-segment", "version": 1, "objects": [e.manifest() for e in entries]}
    man_bytes = man if isinstance(man, bytes) else json.dumps(man).encode()
    omit = set(omit)
    member_data = member_data or {}
    by_path = {e.member: e for e in entries if not e.ref}
    paths = order if order is not None else [e.member for e in entries if not e.ref]
    members = [(p, member_data[p] if p in member_data else by_path[p].data) for p in paths if p not in omit]
    members += list(extra)
    if manifest_position is not None:
        members.insert(manifest_position, ("tributary-manifest.json", man_bytes))
    tar = make_tar(members, end_marker=end_marker, trailing=trailing)
    step = -(-len(tar) // frames)
    seg = b"".join(zstd_compress(tar[i:i + step]) for i in range(0, len(tar), step))
    if corrupt == "truncate":
        seg = seg[: len(seg) // 2]
    elif corrupt == "magic":
        seg = b"\x00\x00\x00\x00" + seg[4:]
    elif corrupt == "checksum":
        seg = seg[:-4] + bytes(b ^ 0xFF for b in seg[-4:])
    elif corrupt is not None:
        raise ValueError(corrupt)
    return seg


# --------------------------------------------------------------------------------------------
# A TCP proxy that cuts the connection once


class CuttingProxy:
    """Forwards 127.0.0.1:<port> to the core; after `cut_after` client→server bytes (counted over
    all connections) it cuts that connection once: the client gets a reset, the core an EOF
    mid-request. Later connections are forwarded untouched."""

    def __init__(self, target_port: int, cut_after: int | None):
        self.target_port = target_port
        self.cut_after = cut_after
        self.forwarded = 0
        self.cut = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._conns: list[socket.socket] = []
        self.events: list[str] = []
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            self._conns += [client, upstream]
            threading.Thread(target=self._pump_up, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _close(s: socket.socket, reset: bool = False):
        """Closes for real: shutdown first, so a thread blocked in recv on `s` wakes up and the
        peer gets its FIN (a bare close() would leave the socket open while that recv runs)."""
        try:
            if reset:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass

    def _pump_up(self, client: socket.socket, upstream: socket.socket):
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    upstream.shutdown(socket.SHUT_WR)
                    return
                with self._lock:
                    armed = self.cut_after is not None and not self.cut.is_set()
                    if armed and self.forwarded + len(data) >= self.cut_after:
                        keep = self.cut_after - self.forwarded
                        upstream.sendall(data[:keep])
                        self.forwarded += keep
                        self.cut.set()
                        self.events.append(f"cut after {keep} of {len(data)} bytes")
                        # A reset towards the client; towards the core a FIN mid-request.
                        self._close(client, reset=True)
                        self._close(upstream)
                        return
                    self.forwarded += len(data)
                upstream.sendall(data)
        except OSError as e:
            self.events.append(f"pump_up: {e!r}")
            self._close(client)
            self._close(upstream)

    def _pump_down(self, upstream: socket.socket, client: socket.socket):
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    client.shutdown(socket.SHUT_WR)
                    return
                client.sendall(data)
        except OSError as e:
            self.events.append(f"pump_down: {e!r}")
            self._close(client)
            self._close(upstream)

    def close(self):
        self._stop.set()
        self._sock.close()
        for s in self._conns:
            self._close(s)
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------------------------
# Raw HTTP over a socket (for stalls and cuts that requests cannot produce)


def raw_patch_start(core: CoreServer, url: str, token: str, offset: int, content_length: int,
                    body_prefix: bytes, extra_headers: dict[str, str] | None = None) -> socket.socket:
    """Sends a PATCH's headers and the first bytes of its body, then leaves the socket open."""
    path = urlsplit(url).path
    headers = {
        "Host": f"127.0.0.1:{core.port}",
        "Tus-Resumable": "1.0.0",
        "Authorization": f"Bearer {token}",
        "Content-Type": OCTET,
        "Upload-Offset": str(offset),
        "Content-Length": str(content_length),
        **(extra_headers or {}),
    }
    head = f"PATCH {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    s = socket.create_connection(("127.0.0.1", core.port), timeout=10)
    s.sendall(head.encode() + body_prefix)
    return s


def wait_closed(s: socket.socket, timeout: float) -> tuple[bool, bytes]:
    """Reads until the peer closes (True) or `timeout` passes (False); returns what was read."""
    deadline = time.monotonic() + timeout
    got = b""
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, min(0.5, deadline - time.monotonic())))
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True, got
        if not data:
            return True, got
        got += data
    return False, got


# --------------------------------------------------------------------------------------------
# Fixtures


BACKEND_PAIRS = ["fs+sqlite", "s3+postgres"]


@pytest.fixture(scope="session")
def real_backends() -> Iterable[tuple[Postgres, SeaweedFS]]:
    """A PostgreSQL and a SeaweedFS for the whole session (started on first use)."""
    pg = Postgres().start()
    weed = SeaweedFS().start()
    yield pg, weed
    weed.cleanup()
    pg.cleanup()


def backend_pair(name: str, request) -> FsSqlite | S3Postgres:
    if name == "fs+sqlite":
        return FsSqlite()
    pg, weed = request.getfixturevalue("real_backends")
    return S3Postgres(pg, weed)


@pytest.fixture(scope="session", params=BACKEND_PAIRS)
def core(tmp_path_factory, request) -> Iterable[CoreServer]:
    """The shared server, once per backend pair: every test that uses it (or `site`) is a
    contract test run against filesystem+SQLite and S3+PostgreSQL. Tests must use their own
    sites (see `site`)."""
    server = CoreServer(tmp_path_factory.mktemp("session") / "data",
                        args=["--max-upload-bytes", str(SESSION_MAX_UPLOAD)], backend=backend_pair(request.param, request))
    server.start()
    yield server
    code = server.stop()
    assert code == 0, f"session core exited {code} on SIGTERM\n{server.log_tail()}"


@pytest.fixture
def live_core(core) -> Iterable[CoreServer]:
    """The shared server, checked to be still serving after the test."""
    yield core
    assert core.alive, f"tributary-core died during the test\n{core.log_tail()}"
    assert core.healthy(), f"tributary-core stopped answering /healthz\n{core.log_tail()}"


@pytest.fixture
def site(live_core) -> Client:
    return live_core.new_site()


@pytest.fixture
def other_site(live_core) -> Client:
    return live_core.new_site("other")


@pytest.fixture
def core_factory(tmp_path, request) -> Iterable:
    """Starts dedicated servers: `core_factory(args=[...], env={...})`; each must still be
    healthy (if running) and exit 0 on SIGTERM at teardown."""
    servers: list[CoreServer] = []
    request.node._tributary_cores = servers
    counter = itertools.count()

    def make(args: Iterable[str] = (), env: dict[str, str] | None = None, start: bool = True,
             backend: FsSqlite | S3Postgres | str = "fs+sqlite") -> CoreServer:
        pair = backend_pair(backend, request) if isinstance(backend, str) else backend
        s = CoreServer(tmp_path / f"core{next(counter)}", args=args, env=env, backend=pair)
        servers.append(s)
        if start:
            s.start()
        return s

    yield make
    problems = []
    for s in servers:
        if s.alive:
            if not s.healthy():
                problems.append(f"{s.data_dir}: not answering /healthz\n{s.log_tail()}")
            code = s.stop()
            if code != 0:
                problems.append(f"{s.data_dir}: exit code {code} on SIGTERM\n{s.log_tail()}")
    assert not problems, "\n".join(problems)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attaches the log tails of the servers a failing test used."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    servers: list[CoreServer] = list(getattr(item, "_tributary_cores", []))
    funcargs = getattr(item, "funcargs", {})
    shared = funcargs.get("core") or funcargs.get("live_core")
    if shared is not None:
        servers.insert(0, shared)
    for s in servers:
        report.sections.append((f"tributary-core log ({s.data_dir})", s.log_tail(4000)))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Figures tests measured (peak RSS, throughput) are printed at the end of every run."""
    lines = getattr(config, "_tributary_measured", [])
    if lines:
        terminalreporter.section("measured")
        for line in lines:
            terminalreporter.write_line(line)
