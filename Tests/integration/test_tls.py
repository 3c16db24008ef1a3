"""TLS and mutual TLS on the core listener, certificate reload, token rotation and revocation
(issue 11; docs/SECURITY.md). The PKI is made with `openssl` in each test (tlskit.py)."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading

import pytest
import requests

from conftest import assert_error, sha256_hex, upload_id_of, wait_until
from tlskit import PKI, tls_core


@pytest.fixture
def pki(tmp_path) -> PKI:
    return PKI(tmp_path / "pki")


def served_cn(core, ca: str) -> str:
    """The CN of the certificate a new connection to `core` is served (verified against `ca`)."""
    ctx = ssl.create_default_context(cafile=ca)
    if core.client_cert:
        ctx.load_cert_chain(*core.client_cert)
    with socket.create_connection(("127.0.0.1", core.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            subject = dict(x[0] for x in tls.getpeercert()["subject"])
            return subject["commonName"]


class OpenPatch:
    """A PATCH whose body is sent in two halves on one TLS connection, so something can happen
    while the upload is in flight."""

    def __init__(self, core, url: str, token: str, data: bytes, cert: tuple[str, str] | None = None):
        ctx = ssl.create_default_context(cafile=core.verify)
        if cert or core.client_cert:
            ctx.load_cert_chain(*(cert or core.client_cert))
        self.conn = http.client.HTTPSConnection("127.0.0.1", core.port, context=ctx, timeout=30)
        self.data = data
        path = url.split(str(core.port), 1)[1]
        self.conn.putrequest("PATCH", path, skip_accept_encoding=True)
        for k, v in {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}", "Upload-Offset": "0",
                     "Content-Type": "application/offset+octet-stream", "Content-Length": str(len(data))}.items():
            self.conn.putheader(k, v)
        self.conn.endheaders()
        self.conn.send(data[: len(data) // 2])

    def finish(self) -> tuple[int, bytes]:
        self.conn.send(self.data[len(self.data) // 2:])
        r = self.conn.getresponse()
        body = r.read()
        self.conn.close()
        return r.status, body


def test_https_upload_and_plain_http_refused(core_factory, pki):
    core = tls_core(core_factory, pki)
    site = core.new_site("tls")
    data = b"t,v\n1,2\n" * 1000
    url, r = site.upload_object(data, "a.csv")
    assert r.status_code == 204, r.text
    assert site.receipt(url)["site"] == site.site
    assert url.startswith("https://")
    # Plain HTTP to the TLS port gets no HTTP answer; an untrusting client refuses the certificate.
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{core.port}/healthz", timeout=5)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(core.url("/healthz"), timeout=5, verify=pki.other.cert)


def test_tls_1_1_is_refused(core_factory, pki):
    core = tls_core(core_factory, pki)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki.ca.cert)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", core.port), timeout=10) as raw:
        with pytest.raises(ssl.SSLError) as refused:
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    # The server's protocol_version alert, not a client that would not even offer TLS 1.1.
    assert "alert protocol version" in str(refused.value).lower(), refused.value
    ctx12 = ssl.create_default_context(cafile=pki.ca.cert)
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", core.port), timeout=10) as raw:
        with ctx12.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() == "TLSv1.2"


def test_sighup_reloads_the_certificate_without_dropping_an_upload(core_factory, pki, tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    cert, key = live / "core.pem", live / "core.key"
    cert.write_bytes(open(pki.server.cert, "rb").read())
    key.write_bytes(open(pki.server.key, "rb").read())
    from tlskit import Issued
    core = tls_core(core_factory, pki, server=Issued(str(cert), str(key)))
    site = core.new_site("reload")
    assert served_cn(core, pki.ca.cert) == "core"
    data = bytes(range(256)) * 4096  # 1 MiB
    url = site.create_ok(len(data), {"name": "big.bin", "stream": "blobs", "sha256": sha256_hex(data)})
    patch = OpenPatch(core, url, site.token, data)
    # A new certificate and key, swapped in while the PATCH is half sent.
    fresh = pki.ca.issue("core-renewed")
    cert.write_bytes(open(fresh.cert, "rb").read())
    key.write_bytes(open(fresh.key, "rb").read())
    core.proc.send_signal(1)  # SIGHUP
    wait_until(lambda: served_cn(core, pki.ca.cert) == "core-renewed", 20, what="new connections to get the new certificate")
    status, body = patch.finish()
    assert status == 204, body
    assert site.receipt(url)["site"] == site.site
    # A broken file on the next SIGHUP keeps the current certificate.
    key.write_text("not a key\n")
    core.proc.send_signal(1)
    wait_until(lambda: "TLS reload failed" in core.log_tail(20000), 20, what="the failed reload to be logged")
    assert served_cn(core, pki.ca.cert) == "core-renewed"
    assert "not a key" not in core.log_tail(20000)


def test_mutual_tls_matrix(core_factory, pki):
    core = tls_core(core_factory, pki, mutual=True)
    a_cert = pki.ca.issue("edge-a", client=True)
    b_cert = pki.ca.issue("edge-b", client=True)
    stranger = pki.other.issue("edge-a", client=True)  # same name, other CA
    a_token = core.add_site("plant-a")
    core.cli("sites", "rotate", "plant-a", "--grace", "0")  # plant-a: token replaced; its cert below
    core.cli("sites", "revoke", "plant-a")
    out = core.cli("sites", "add", "plant-a2", "--cert-subject", "CN=edge-a", "--no-token").stdout
    assert "without a token" in out
    b_token = core.add_site("plant-b")
    core.cli("sites", "add", "plant-b2", "--cert-fingerprint", b_cert.fingerprint())

    def call(cert, token=None, path="/v1/have"):
        h = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(core.url(path), json={"sha256": ["0" * 64]}, headers=h, cert=cert, verify=pki.ca.cert, timeout=15)

    # No certificate, or one from another CA: the handshake fails.
    for cert in (None, stranger.pair):
        with pytest.raises(requests.exceptions.RequestException):
            call(cert, b_token)
    # A registered certificate names its site without any token.
    a = core.client(None, "plant-a2")
    a.http.cert = a_cert.pair
    url, r = a.upload_object(b"x\n" * 10, "a.csv")
    assert r.status_code == 204, r.text
    assert a.receipt(url)["site"] == "plant-a2"
    b = core.client(None, "plant-b2")
    b.http.cert = b_cert.pair
    url_b, r = b.upload_object(b"y\n" * 10, "b.csv")
    assert b.receipt(url_b)["site"] == "plant-b2"
    # Site A's certificate cannot act as site B, whatever token it carries.
    assert_error(call(a_cert.pair, b_token), 403, "forbidden")
    assert_error(a.get(url_b), 403, "forbidden")
    # A verified but unregistered certificate adds nothing: the token decides.
    assert_error(call(pki.operator.pair), 401, "unauthorized")
    assert call(pki.operator.pair, b_token).status_code == 200
    # plant-a's old token is revoked; its name is not a certificate identity.
    assert_error(call(pki.operator.pair, a_token), 401, "unauthorized")
    # The admin token over a site's certificate is still the admin.
    r = requests.get(core.url("/v1/sites"), headers={"Authorization": f"Bearer {core.admin_token}"},
                     cert=a_cert.pair, verify=pki.ca.cert, timeout=15)
    assert r.status_code == 200
    assert {"plant-a", "plant-a2", "plant-b", "plant-b2"} <= {s["site"] for s in r.json()["sites"]}


def test_rotation_keeps_the_old_token_for_the_grace_period_then_stops_it(core_factory, pki):
    core = tls_core(core_factory, pki)
    old = core.new_site("rot")
    out = core.cli("sites", "rotate", old.site, "--grace", "4").stdout
    new = core.client(out.strip().splitlines()[-1], old.site)
    assert new.token != old.token and new.token.startswith("trb_")
    for c in (old, new):
        url, r = c.upload_object(c.token.encode(), "r.csv")
        assert r.status_code == 204, r.text
        assert c.receipt(url)["site"] == old.site
    wait_until(lambda: old.have(["0" * 64]).status_code == 401, 30, 0.25, what="the old token to stop after its grace period")
    assert new.have(["0" * 64]).status_code == 200
    # Without --grace the configured grace applies (default 24 h): the previous token still works.
    out = core.cli("sites", "rotate", old.site).stdout
    newer = core.client(out.strip().splitlines()[-1], old.site)
    assert new.have(["0" * 64]).status_code == 200 and newer.have(["0" * 64]).status_code == 200
    assert core.cli("sites", "rotate", "no-such-site", check=False).returncode != 0


def test_revocation_refuses_an_upload_in_flight_and_keeps_the_history(core_factory, pki):
    core = tls_core(core_factory, pki)
    site = core.new_site("rev")
    url0, r = site.upload_object(b"kept\n", "kept.csv")
    assert r.status_code == 204
    data = bytes(range(256)) * 2048
    url = site.create_ok(len(data), {"name": "late.bin", "stream": "blobs", "sha256": sha256_hex(data)})
    patch = OpenPatch(core, url, site.token, data)
    out = core.cli("sites", "revoke", site.site).stdout
    assert "revoked 1 credential" in out
    status, body = patch.finish()
    assert status == 401, body
    assert_error(site.head(url), 401)
    assert_error(site.have(["0" * 64]), 401, "unauthorized")
    lake = core.lake_files(site.site)
    assert not any("/late." in k for k in lake), lake
    assert any("/kept." in k for k in lake), lake
    assert core.count("SELECT count(*) FROM arrivals WHERE site = ?", (site.site,)) == 1
    admin = core.client(core.admin_token)
    assert admin.request("GET", f"/v1/sites/{site.site}", tus=False).status_code == 200
    # A rotation gives the site a working token again.
    token = core.cli("sites", "rotate", site.site).stdout.strip().splitlines()[-1]
    assert core.client(token, site.site).have(["0" * 64]).status_code == 200


def test_rotation_and_revocation_hold_on_every_node_at_once(core_factory, pki, real_backends):
    """Two TLS nodes on one PostgreSQL catalog (and one bucket): a revocation or a rotation made
    through either holds on the other from the next request (nothing is cached per node)."""
    from backend_pairs import S3Postgres
    pg, weed = real_backends
    pair = S3Postgres(pg, weed).shared()
    env = {"TRIBUTARY_ADMIN_TOKEN": "adm_" + "5" * 40}
    nodes = []
    for _ in range(2):
        n = core_factory(backend=pair, env=env, args=["--tls-cert", pki.server.cert, "--tls-key", pki.server.key], start=False)
        n.scheme, n.verify = "https", pki.ca.cert
        nodes.append(n.start())
    a, b = nodes
    site = a.new_site("multi")
    on_b = b.client(site.token, site.site)
    assert on_b.have(["0" * 64]).status_code == 200
    token = a.cli("sites", "rotate", site.site, "--grace", "0").stdout.strip().splitlines()[-1]
    assert_error(on_b.have(["0" * 64]), 401, "unauthorized")
    assert b.client(token, site.site).have(["0" * 64]).status_code == 200
    b.cli("sites", "revoke", site.site)
    for node in (a, b):
        assert_error(node.client(token, site.site).have(["0" * 64]), 401, "unauthorized")
