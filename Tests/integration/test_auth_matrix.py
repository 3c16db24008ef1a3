"""Every endpoint × every kind of credential → the answer docs/SECURITY.md ("Who may call what")
documents. The core runs with mutual TLS: every request presents a certificate from the client CA
(an unregistered operator certificate), and the "cert" column presents site A's registered
certificate instead, without a token."""

from __future__ import annotations

import pytest
import requests

from conftest import HTTP_TIMEOUT, OCTET, TUS, encode_metadata
from fleetkit import report
from tlskit import PKI, tls_core

CREDENTIALS = ["none", "wrong", "site", "other-site", "admin", "metrics", "cert"]

# endpoint: answers in the order of CREDENTIALS (docs/SECURITY.md holds the same table).
MATRIX = {
    "GET /healthz":            [200, 200, 200, 200, 200, 200, 200],
    "GET /readyz":             [200, 200, 200, 200, 200, 200, 200],
    "GET / (dashboard page)":  [200, 200, 200, 200, 200, 200, 200],
    "POST /v1/uploads":        [401, 401, 201, 201, 403, 401, 201],
    "HEAD /v1/uploads/ID":     [401, 401, 200, 403, 403, 401, 200],
    "PATCH /v1/uploads/ID":    [401, 401, 204, 403, 403, 401, 204],
    "GET /v1/uploads/ID":      [401, 401, 200, 403, 403, 401, 200],
    "DELETE /v1/uploads/ID":   [401, 401, 204, 403, 403, 401, 204],
    "POST /v1/have":           [401, 401, 200, 200, 403, 401, 200],
    "POST /v1/heartbeat":      [401, 401, 204, 204, 403, 401, 204],
    "GET /v1/sites":           [401, 401, 403, 403, 200, 401, 403],
    "GET /v1/sites/SITE":      [401, 401, 403, 403, 200, 401, 403],
    "POST /v1/sites":          [401, 401, 403, 403, 201, 401, 403],
    "GET /metrics":            [401, 401, 403, 403, 200, 200, 403],
}

METRICS_TOKEN = "scrape-0123456789abcdef"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    # A module-scoped core (the matrix has ~100 cells and each needs no fresh server).
    from conftest import CoreServer
    tmp = tmp_path_factory.mktemp("authmatrix")
    pki = PKI(tmp / "pki")
    core = CoreServer(tmp / "core", args=["--tls-cert", pki.server.cert, "--tls-key", pki.server.key,
                                          "--tls-client-ca", pki.ca.cert],
                      env={"TRIBUTARY_METRICS_TOKEN": METRICS_TOKEN})
    core.scheme, core.verify, core.client_cert = "https", pki.ca.cert, pki.operator.pair
    core.start()
    a_cert = pki.ca.issue("edge-a", client=True)
    a_token = core.cli("sites", "add", "plant-a", "--cert-subject", "CN=edge-a").stdout.strip().splitlines()[-1]
    b_token = core.add_site("plant-b")
    yield core, pki, a_cert, a_token, b_token
    assert core.stop() == 0


def answer(setup, endpoint: str, credential: str) -> int:
    core, pki, a_cert, a_token, b_token = setup
    cert = a_cert.pair if credential == "cert" else pki.operator.pair
    token = {"none": None, "wrong": "trb_" + "0" * 48, "site": a_token, "other-site": b_token,
             "admin": core.admin_token, "metrics": METRICS_TOKEN, "cert": None}[credential]

    def call(method, path, headers=None, **kw):
        h = dict(TUS)
        if token:
            h["Authorization"] = f"Bearer {token}"
        h.update(headers or {})
        url = path if path.startswith("https://") else core.url(path)
        return requests.request(method, url, headers=h, cert=cert, verify=pki.ca.cert, timeout=HTTP_TIMEOUT, **kw)

    def upload_of_a(length: int = 4, commit: bool = False) -> str:
        h = {"Authorization": f"Bearer {a_token}", **TUS, "Upload-Length": str(length),
             "Upload-Metadata": encode_metadata({"name": f"m-{endpoint[:4]}-{credential}.csv", "stream": "s"})}
        r = requests.post(core.url("/v1/uploads"), headers=h, cert=pki.operator.pair, verify=pki.ca.cert, timeout=HTTP_TIMEOUT)
        assert r.status_code == 201, r.text
        url = core.url(r.headers["Location"])
        if commit:
            h = {"Authorization": f"Bearer {a_token}", **TUS, "Upload-Offset": "0", "Content-Type": OCTET}
            r = requests.patch(url, headers=h, data=b"abcd", cert=pki.operator.pair, verify=pki.ca.cert, timeout=HTTP_TIMEOUT)
            assert r.status_code == 204, r.text
        return url

    md = encode_metadata({"name": f"c-{credential}.csv", "stream": "s"})
    match endpoint:
        case "GET /healthz": r = call("GET", "/healthz")
        case "GET /readyz": r = call("GET", "/readyz")
        case "GET / (dashboard page)": r = call("GET", "/")
        case "POST /v1/uploads": r = call("POST", "/v1/uploads", {"Upload-Length": "4", "Upload-Metadata": md})
        case "HEAD /v1/uploads/ID": r = call("HEAD", upload_of_a())
        case "PATCH /v1/uploads/ID":
            r = call("PATCH", upload_of_a(), {"Upload-Offset": "0", "Content-Type": OCTET}, data=b"ab")
        case "GET /v1/uploads/ID": r = call("GET", upload_of_a(commit=True))
        case "DELETE /v1/uploads/ID": r = call("DELETE", upload_of_a())
        case "POST /v1/have": r = call("POST", "/v1/have", json={"sha256": ["0" * 64]})
        case "POST /v1/heartbeat": r = call("POST", "/v1/heartbeat", json=report())
        case "GET /v1/sites": r = call("GET", "/v1/sites")
        case "GET /v1/sites/SITE": r = call("GET", "/v1/sites/plant-a")
        case "POST /v1/sites": r = call("POST", "/v1/sites", json={"site": f"new-{credential}"})
        case "GET /metrics": r = call("GET", "/metrics")
        case _: raise AssertionError(endpoint)
    if r.status_code == 401:
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), endpoint
    return r.status_code


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_auth_matrix(setup, endpoint):
    got = [answer(setup, endpoint, c) for c in CREDENTIALS]
    assert dict(zip(CREDENTIALS, got)) == dict(zip(CREDENTIALS, MATRIX[endpoint])), endpoint
