"""Discovery, version negotiation, health, the admin token and site registration."""

import json
import os
import stat

import requests

from conftest import HTTP_TIMEOUT, SESSION_MAX_UPLOAD, TUS, assert_error


def test_options_advertises_tus_capabilities(live_core):
    r = requests.options(live_core.uploads_url, timeout=HTTP_TIMEOUT)  # no token, no Tus-Resumable
    assert r.status_code == 204, r.text
    assert r.headers.get("Tus-Resumable") == "1.0.0"
    assert r.headers.get("Tus-Version") == "1.0.0"
    ext = {e.strip() for e in r.headers.get("Tus-Extension", "").split(",")}
    assert ext == {"creation", "checksum", "termination", "expiration"}
    algos = {a.strip() for a in r.headers.get("Tus-Checksum-Algorithm", "").split(",")}
    assert algos == {"sha256", "sha1"}
    assert int(r.headers["Tus-Max-Size"]) == SESSION_MAX_UPLOAD


def test_missing_tus_resumable_is_412(site):
    r = site.request("POST", "/v1/uploads", tus=False,
                     headers={"Upload-Length": "10", "Upload-Metadata": "name YS5jc3Y=,stream cw=="})
    body = assert_error(r, 412, "unsupported_version")
    assert r.headers.get("Tus-Version") == "1.0.0"
    assert body


def test_wrong_tus_version_is_412(site):
    r = site.request("POST", "/v1/uploads", tus=False,
                     headers={"Tus-Resumable": "0.2.2", "Upload-Length": "10",
                              "Upload-Metadata": "name YS5jc3Y=,stream cw=="})
    assert_error(r, 412, "unsupported_version")
    assert r.headers.get("Tus-Version") == "1.0.0"


def test_missing_tus_resumable_on_head_and_patch_is_412(site):
    url = site.create_ok(4, {"name": "v.csv", "stream": "s"})
    r = site.request("HEAD", url, tus=False)
    assert r.status_code == 412
    r = site.request("PATCH", url, tus=False, data=b"abcd",
                     headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert_error(r, 412, "unsupported_version")
    assert site.offset(url) == 0


def test_tus_resumable_on_every_upload_answer(site):
    url = site.create_ok(3, {"name": "t.csv", "stream": "s"})
    answers = [
        site.head(url),
        site.get(url),                                   # 409 not_committed
        site.patch(url, 1, b"x"),                        # 409 offset_mismatch
        site.patch(url, 0, b"abc"),                      # 204 committed
        site.get(url),                                   # 200 receipt
        site.head(site.core.url("/v1/uploads/" + "0" * 32)),  # 404
    ]
    for r in answers:
        assert r.headers.get("Tus-Resumable") == "1.0.0", f"{r.request.method} {r.status_code} lacks Tus-Resumable"


def test_health_and_readiness(live_core):
    assert requests.get(live_core.url("/healthz"), timeout=HTTP_TIMEOUT).status_code == 200
    assert requests.get(live_core.url("/readyz"), timeout=HTTP_TIMEOUT).status_code == 200


def test_admin_token_file(live_core):
    path = live_core.data_dir / "admin.token"
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o600, oct(mode)
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and len(lines[0].strip()) >= 16


def test_admin_lists_and_registers_sites(live_core):
    admin = live_core.client(live_core.admin_token)
    name = "api-site-" + os.urandom(4).hex()
    r = admin.request("POST", "/v1/sites", json={"site": name})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["site"] == name and body["token"].startswith("trb_")
    # The new token works at once.
    new = live_core.client(body["token"], name)
    r = new.create(1, {"name": "x.csv", "stream": "s"})
    assert r.status_code == 201, r.text
    # Registering again: 409 site_exists.
    assert_error(admin.request("POST", "/v1/sites", json={"site": name}), 409, "site_exists")
    # Bad site ids: 400.
    for bad in ["", "-lead", "has space", "x" * 65, "a/b"]:
        assert_error(admin.request("POST", "/v1/sites", json={"site": bad}), 400)
    assert_error(admin.request("POST", "/v1/sites", data=b"not json",
                               headers={"Content-Type": "application/json"}), 400)
    r = admin.request("GET", "/v1/sites")
    assert r.status_code == 200, r.text
    sites = {s["site"]: s for s in r.json()["sites"]}
    assert name in sites and sites[name].get("created_at")


def test_cli_sites_add_and_list_while_serving(live_core):
    name = "cli-site-" + os.urandom(4).hex()
    token = live_core.add_site(name)
    assert token.startswith("trb_"), token
    r = live_core.client(token).create(1, {"name": "x.csv", "stream": "s"})
    assert r.status_code == 201, r.text
    out = live_core.cli("sites", "list", "--json").stdout
    listed = json.loads(out)
    if isinstance(listed, dict):
        listed = listed["sites"]
    names = {s["site"] if isinstance(s, dict) else s for s in listed}
    assert name in names
    # Adding the same site again fails without printing a token.
    again = live_core.cli("sites", "add", name, check=False)
    assert again.returncode != 0
    # The catalog stores only the token's hash.
    rows = live_core.query("SELECT * FROM sites")
    assert rows and all(token not in map(str, row) for row in rows)
