"""The edge over TLS (issue 11): delivery through the fault proxy with cuts, the server's
certificate verified (wrong CA, expired, wrong host refused), mutual TLS with a client certificate,
the token never sent to another origin, no plain http:// off this machine without the opt-in."""

from __future__ import annotations

import http.server
import json
import random
import subprocess
import threading

import pytest

from conftest import wait_until
from edgekit import arrivals, assert_exactly_once, edge_binary, edge_factory, proxy_factory  # noqa: F401
from tlskit import PKI, tls_core


@pytest.fixture
def pki(tmp_path) -> PKI:
    return PKI(tmp_path / "pki")


def test_edge_delivers_over_tls_through_cuts(core_factory, pki, edge_factory, proxy_factory):
    core = tls_core(core_factory, pki)
    site = core.new_site("tls-edge")
    # The proxy cuts TCP connections mid-stream; TLS runs end to end through it.
    proxy = proxy_factory(core.port, "--seed", "5", "--cut-probability", "0.5", "--cut-after", "20000-600000")
    agent = edge_factory(f"https://127.0.0.1:{proxy.port}", site.site, site.token, ca_file=pki.ca.cert,
                         chunk_bytes=256 << 10, large_object_bytes=512 << 10, segment_max_bytes=256 << 10)
    rng = random.Random(7)
    files = {("v", f"r{i}.csv"): "".join(f"{i},{j},{rng.random():.5f}\n" for j in range(rng.randint(50, 2000))).encode()
             for i in range(30)}
    files[("blobs", "big.bin")] = rng.randbytes(3 << 20)
    for (stream, name), data in files.items():
        agent.drop(f"{stream}/{name}", data)
    agent.start()
    agent.wait_drained(240, acked=len(files))
    assert_exactly_once(core, site.site, files)
    assert proxy.stats()["cuts"] > 0


@pytest.mark.parametrize("case", ["other-ca", "expired", "wrong-host", "system-store"])
def test_edge_refuses_a_certificate_it_cannot_verify(case, core_factory, pki, edge_factory):
    server = {"expired": lambda: pki.ca.issue("core-expired", expired=True),
              "wrong-host": lambda: pki.ca.issue("core-elsewhere", hosts=("DNS:elsewhere.example",))}.get(case, lambda: pki.server)()
    core = core_factory(args=["--tls-cert", server.cert, "--tls-key", server.key], start=False)
    core.scheme, core.verify = "https", False  # the suite's own probes do not check; the edge must
    core.start()
    site = core.new_site("badcert")
    ca = {"other-ca": pki.other.cert, "system-store": None}.get(case, pki.ca.cert)
    agent = edge_factory(f"https://127.0.0.1:{core.port}", site.site, site.token, ca_file=ca)
    agent.drop("v/a.csv", b"a,b\n1,2\n")
    agent.start()
    wait_until(lambda: any(w in agent.log_text() for w in ("SSL", "certificate", "curl 60")), 30,
               what="the edge to report the certificate")
    assert arrivals(core, site.site) == []
    assert agent.status()["pending_objects"] == 1


def test_edge_with_a_client_certificate_and_no_token(core_factory, pki, edge_factory):
    core = tls_core(core_factory, pki, mutual=True)
    cert = pki.ca.issue("edge-gw7", client=True)
    core.cli("sites", "add", "gw7", "--cert-subject", "CN=edge-gw7", "--no-token")
    agent = edge_factory(f"https://127.0.0.1:{core.port}", "gw7", None, ca_file=pki.ca.cert,
                         client_cert=cert.cert, client_key=cert.key)
    files = {("v", "a.csv"): b"a,b\n1,2\n", ("v", "b.csv"): b"a,b\n3,4\n"}
    for (stream, name), data in files.items():
        agent.drop(f"{stream}/{name}", data)
    agent.start()
    agent.wait_drained(60, acked=2)
    assert_exactly_once(core, "gw7", files)
    assert "--token" not in agent.log_text()


class Recorder(http.server.BaseHTTPRequestHandler):
    """A stand-in core: have-checks say nothing is held, heartbeats are taken, creations answer
    with a Location on another port (`elsewhere`); every request is recorded."""
    seen: list = []
    elsewhere = 0

    def _answer(self):
        self.seen.append((self.server.server_port, self.command, self.path, self.headers.get("Authorization")))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path == "/v1/have" and self.headers.get("Content-Type", "").startswith("application/octet-stream"):
            # An older core: no binary have-check; the edge falls back to the JSON form.
            self.send_response(415)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/v1/have":
            body = json.dumps({"have": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.command == "POST" and self.path == "/v1/uploads":
            self.send_response(201)
            self.send_header("Location", f"http://127.0.0.1:{self.elsewhere}/v1/uploads/{'a' * 32}")
            self.send_header("Tus-Resumable", "1.0.0")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    do_GET = do_POST = do_HEAD = do_PATCH = do_DELETE = _answer

    def log_message(self, *args):
        pass


def test_edge_never_follows_a_location_to_another_origin(edge_factory):
    Recorder.seen = []
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder) for _ in range(2)]
    core, elsewhere = servers
    Recorder.elsewhere = elsewhere.server_port
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    try:
        agent = edge_factory(f"http://127.0.0.1:{core.server_port}", "plant-x", "trb_secret_token")
        agent.drop("v/a.csv", b"a,b\n1,2\n")
        agent.start()
        wait_until(lambda: "another scheme, host or port" in agent.log_text(), 30, what="the edge to refuse the Location")
        wait_until(lambda: sum(1 for s in Recorder.seen if s[1] == "POST" and s[2] == "/v1/uploads") >= 2, 30,
                   what="a retried creation")
        assert [s for s in Recorder.seen if s[0] == elsewhere.server_port] == []
        assert agent.status()["pending_objects"] == 1
    finally:
        for s in servers:
            s.shutdown()


def test_plain_http_to_another_machine_needs_the_opt_in(tmp_path):
    def run(*extra: str) -> subprocess.CompletedProcess:
        cfg = tmp_path / "edge.toml"
        cfg.write_text("[edge]\nsite = \"plant-a\"\ntoken = \"t\"\ncore_url = \"http://192.0.2.10:8080\"\n"
                       f"inbox = \"{tmp_path}/inbox\"\nspool_dir = \"{tmp_path}/spool\"\n" + "".join(extra))
        try:
            return subprocess.run([str(edge_binary()), "run", "--config", str(cfg)], capture_output=True, text=True, timeout=5)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(e.cmd, None, e.stdout, e.stderr)

    refused = run()
    assert refused.returncode not in (0, None) and "allow_insecure_http" in (refused.stderr or ""), refused.stderr
    allowed = run("allow_insecure_http = true\n")
    assert allowed.returncode is None, f"with the opt-in the agent must run (exit {allowed.returncode}: {allowed.stderr})"


def test_edge_rereads_token_file_on_sighup_after_a_rotation(live_core, edge_factory, tmp_path):
    site = live_core.new_site("rotating")
    token_file = tmp_path / "edge.token"
    token_file.write_text(site.token + "\n")
    token_file.chmod(0o600)
    agent = edge_factory(live_core.base, site.site, None, token_file=str(token_file))
    agent.drop("v/before.csv", b"a\n1\n")
    agent.start()
    agent.wait_drained(60, acked=1)
    # The old token stops at once; the edge is told the new one through its file and SIGHUP.
    new = live_core.cli("sites", "rotate", site.site, "--grace", "0").stdout.strip().splitlines()[-1]
    token_file.write_text(new + "\n")
    agent.proc.send_signal(1)
    wait_until(lambda: "token re-read from token_file" in agent.log_text(), 20, what="the edge to re-read its token")
    agent.drop("v/after.csv", b"a\n2\n")
    agent.wait_drained(60, acked=2)
    assert {a["name"] for a in arrivals(live_core, site.site)} == {"before.csv", "after.csv"}
    assert site.token not in agent.log_text() and new not in agent.log_text()
