"""Relays (issue 12): a downstream core's site registered with `sites add --relay` submits on
behalf of other sites; objects land under the original site with the relay as provenance; an
ordinary site token can never claim another site."""

import os
import uuid
from urllib.parse import urljoin

from conftest import assert_error, expected_key, sha256_hex, upload_id_of

CAPTURED = "2026-03-02T08:00:00.000Z"
RECEIVED = "2026-03-02T08:00:05.000Z"


def _relay(core, sites: str | None = None):
    name = f"relay-{uuid.uuid4().hex[:10]}"
    args = ["sites", "add", name, "--relay"] + (["--relay-sites", sites] if sites else [])
    out = core.cli(*args).stdout
    assert "is a relay" in out, out
    return core.client([l for l in out.splitlines() if l.strip()][-1].strip(), name)


def _send(client, data: bytes, md: dict):
    r = client.create(len(data), md)
    if r.status_code != 201:
        return r
    url = urljoin(client.core.base + "/", r.headers["Location"])
    p = client.patch(url, 0, data)
    assert p.status_code == 204 and p.headers.get("Tributary-Upload-State") == "committed", p.text
    return url


def test_relay_files_under_the_original_site_with_provenance(live_core, site):
    relay = _relay(live_core)
    data = os.urandom(5000)
    sha = sha256_hex(data)
    url = _send(relay, data, {"name": "a.csv", "stream": "vibration", "sha256": sha, "captured-at": CAPTURED,
                              "site": site.site, "received-at": RECEIVED})
    key = expected_key("vibration", site.site, CAPTURED, "a.csv", sha)
    receipt = relay.receipt(url)
    assert receipt["site"] == site.site and receipt["relay"] == relay.site
    assert receipt["objects"][0]["key"] == key and receipt["objects"][0]["status"] == "stored"
    # Under the original site's partition, nothing under the relay's.
    assert live_core.lake_files(site.site) == [key]
    assert live_core.lake_files(relay.site) == []
    assert live_core.read_lake(key) == data
    upload_id = upload_id_of(url)
    assert live_core.query("SELECT site, relay, received_at FROM arrivals WHERE upload_id = ?", (upload_id,)) == \
        [(site.site, relay.site, RECEIVED)]
    lines = live_core.arrival_manifest_lines(upload_id)
    assert [(l["site"], l["relay"], l["received_at"]) for l in lines] == [(site.site, relay.site, RECEIVED)]
    # The upload stays the relay's: the original site's token does not see it.
    assert_error(site.get(url), 403, "forbidden")
    # The relay's have-check asks on behalf of the site (?site=); an ordinary site may not.
    r = relay.request("POST", f"/v1/have?site={site.site}", json={"sha256": [sha, "0" * 64]}, tus=False)
    assert r.status_code == 200 and r.json()["have"] == [sha], r.text
    r = relay.request("POST", "/v1/have", json={"sha256": [sha]}, tus=False)
    assert r.status_code == 200 and r.json()["have"] == [], r.text
    assert_error(site.request("POST", f"/v1/have?site={relay.site}", json={"sha256": [sha]}, tus=False), 403, "not_a_relay")
    # The same content from the site itself is a duplicate of what the relay stored: one copy.
    own = _send(site, data, {"name": "a.csv", "stream": "vibration", "sha256": sha, "captured-at": CAPTURED})
    assert site.receipt(own)["objects"][0]["status"] == "duplicate"
    assert live_core.lake_files(site.site) == [key]


def test_an_ordinary_site_token_cannot_claim_another_site(live_core, site, other_site):
    md = {"name": "b.csv", "stream": "s", "captured-at": CAPTURED}
    r = _send(site, b"abcd", {**md, "site": other_site.site})
    body = assert_error(r, 403, "not_a_relay")
    assert site.site in body["message"] and other_site.site in body["message"]
    assert_error(_send(site, b"abcd", {**md, "received-at": RECEIVED}), 403, "not_a_relay")
    # Naming itself is allowed (what a relay's own objects look like).
    url = _send(site, b"abcd", {**md, "site": site.site})
    assert site.receipt(url)["site"] == site.site and "relay" not in site.receipt(url)
    assert live_core.lake_files(other_site.site) == []
    # Malformed site names are refused before anything is staged.
    assert_error(_send(site, b"abcd", {**md, "site": "../x"}), 400)


def test_a_relay_is_held_to_its_list(live_core, site):
    relay = _relay(live_core, "plant-*")
    md = {"name": "c.csv", "stream": "s", "captured-at": CAPTURED}
    assert_error(_send(relay, b"abcd", {**md, "site": site.site}), 403, "relay_not_permitted")
    plant = live_core.new_site("plant")
    url = _send(relay, b"abcd", {**md, "site": plant.site})
    assert relay.receipt(url)["site"] == plant.site
    assert live_core.lake_files(site.site) == []
    # The CLI refuses a bad pattern and --relay-sites without --relay.
    assert live_core.cli("sites", "add", "x-" + uuid.uuid4().hex[:6], "--relay", "--relay-sites", "a b",
                         check=False).returncode != 0
    assert live_core.cli("sites", "add", "y-" + uuid.uuid4().hex[:6], "--relay-sites", "a", check=False).returncode != 0
