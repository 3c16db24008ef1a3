"""Bearer tokens: unknown tokens, other sites' uploads, admin versus site tokens."""

import requests

from conftest import HTTP_TIMEOUT, assert_error


def _requests(client, url):
    return [
        ("POST", lambda: client.create(4, {"name": "a.csv", "stream": "s"})),
        ("HEAD", lambda: client.head(url)),
        ("PATCH", lambda: client.patch(url, 0, b"abcd")),
        ("GET", lambda: client.get(url)),
        ("DELETE", lambda: client.delete(url)),
        ("HAVE", lambda: client.have(["0" * 64])),
        ("SITES", lambda: client.request("GET", "/v1/sites")),
    ]


def test_missing_token_is_401(live_core, site):
    url = site.create_ok(4, {"name": "a.csv", "stream": "s"})
    anon = live_core.client(None)
    for what, call in _requests(anon, url):
        r = call()
        assert_error(r, 401, "unauthorized")
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), what
    assert site.offset(url) == 0


def test_unknown_token_is_401(live_core, site):
    url = site.create_ok(4, {"name": "a.csv", "stream": "s"})
    for token in ["trb_" + "0" * 40, "garbage", site.token + "x"]:
        bad = live_core.client(token)
        for what, call in _requests(bad, url):
            r = call()
            assert_error(r, 401, "unauthorized")
            assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), what
    # Not a bearer scheme at all.
    r = requests.head(url, headers={"Tus-Resumable": "1.0.0", "Authorization": f"Basic {site.token}"},
                      timeout=HTTP_TIMEOUT)
    assert r.status_code == 401
    assert site.offset(url) == 0


def test_other_sites_token_is_403_on_an_upload(site, other_site):
    data = b"abcdefgh"
    url = site.create_ok(len(data), {"name": "a.csv", "stream": "s"})
    assert site.patch(url, 0, data[:4]).status_code == 204
    assert_error(other_site.head(url), 403)
    assert_error(other_site.patch(url, 4, data[4:]), 403, "forbidden")
    assert_error(other_site.get(url), 403, "forbidden")
    assert_error(other_site.delete(url), 403, "forbidden")
    # Nothing changed: the owner still sees its upload at offset 4 and can finish it.
    assert site.offset(url) == 4
    r = site.patch(url, 4, data[4:])
    assert r.status_code == 204, r.text
    # Once committed, the receipt is still the owner's only.
    assert_error(other_site.get(url), 403, "forbidden")
    assert_error(other_site.head(url), 403)
    assert site.receipt(url)["site"] == site.site


def test_admin_token_cannot_upload(live_core, site):
    admin = live_core.client(live_core.admin_token)
    assert_error(admin.create(4, {"name": "a.csv", "stream": "s"}), 403, "forbidden")
    url = site.create_ok(4, {"name": "a.csv", "stream": "s"})
    assert_error(admin.patch(url, 0, b"abcd"), 403, "forbidden")
    assert_error(admin.have(["0" * 64]), 403, "forbidden")
    assert site.offset(url) == 0


def test_site_token_cannot_use_admin_endpoints(live_core, site):
    assert_error(site.request("GET", "/v1/sites"), 403, "forbidden")
    assert_error(site.request("POST", "/v1/sites", json={"site": "sneaky"}), 403, "forbidden")
    admin = live_core.client(live_core.admin_token)
    r = admin.request("GET", "/v1/sites")
    assert r.status_code == 200
    assert site.site in {s["site"] for s in r.json()["sites"]}
    assert "sneaky" not in {s["site"] for s in r.json()["sites"]}


def test_site_is_taken_from_the_token_not_metadata(live_core, site, other_site):
    # A "site" metadata key naming another site is for relays only (test_relay.py): an ordinary
    # site token gets 403, never a way to write as another site.
    r = site.create(4, {"name": "a.csv", "stream": "s", "site": other_site.site})
    assert_error(r, 403, "not_a_relay")
