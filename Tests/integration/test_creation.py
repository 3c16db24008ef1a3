"""POST /v1/uploads: everything is validated at creation, before a byte is sent."""

import pytest

from conftest import SESSION_MAX_UPLOAD, assert_error, b64

GOOD = {"name": "dir/reading.csv", "stream": "vibration"}


def md(**over):
    m = dict(GOOD)
    for k, v in over.items():
        k = k.replace("_", "-")
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    return m


BAD_METADATA = [
    # (id, metadata dict or raw header, status, allowed codes)
    ("dotdot", md(name="../etc/passwd"), 400, "invalid_name"),
    ("dotdot-inner", md(name="a/../b.csv"), 400, "invalid_name"),
    ("dot-component", md(name="a/./b.csv"), 400, "invalid_name"),
    ("absolute", md(name="/etc/passwd"), 400, "invalid_name"),
    ("control-char", md(name="a\x01b.csv"), 400, "invalid_name"),
    ("newline", md(name="a\nb.csv"), 400, "invalid_name"),
    ("del-char", md(name="a\x7fb.csv"), 400, "invalid_name"),
    ("nul", md(name="a\x00b.csv"), 400, "invalid_name"),
    ("backslash", md(name="a\\b.csv"), 400, "invalid_name"),
    ("empty-name", md(name=""), 400, "invalid_name"),
    ("empty-component", md(name="a//b.csv"), 400, "invalid_name"),
    ("trailing-slash", md(name="a/"), 400, "invalid_name"),
    ("long-component", md(name="x" * 256), 400, "invalid_name"),
    ("long-name", md(name="/".join(["y" * 200] * 6)), 400, "invalid_name"),
    ("missing-name", md(name=None), 400, {"invalid_name", "invalid_metadata"}),
    ("bad-stream-space", md(stream="has space"), 400, "invalid_stream"),
    ("bad-stream-lead", md(stream="-vib"), 400, "invalid_stream"),
    ("bad-stream-slash", md(stream="a/b"), 400, "invalid_stream"),
    ("bad-stream-long", md(stream="s" * 65), 400, "invalid_stream"),
    ("empty-stream", md(stream=""), 400, "invalid_stream"),
    ("missing-stream", md(stream=None), 400, {"invalid_stream", "invalid_metadata"}),
    ("unknown-kind", md(kind="tarball"), 400, "unsupported_kind"),
    ("unknown-encoding", md(encoding="gzip"), 400, "unsupported_encoding"),
    ("segment-identity", {"kind": "segment", "encoding": "identity"}, 400, "unsupported_encoding"),
    ("bad-base64", "name !!!notbase64,stream " + b64("vibration"), 400, "invalid_metadata"),
    ("not-utf8", "name " + "/w==" + ",stream " + b64("vibration"), 400, "invalid_metadata"),
    ("duplicate-key", f"name {b64('a.csv')},stream {b64('s')},name {b64('b.csv')}", 400, "invalid_metadata"),
    ("unknown-key", md(colour="blue"), 400, "invalid_metadata"),
    ("garbage-pair", f"name {b64('a.csv')} extra,stream {b64('s')}", 400, "invalid_metadata"),
    ("bad-captured-at", md(captured_at="yesterday"), 400, "invalid_timestamp"),
    ("bad-captured-at-month", md(captured_at="2026-13-01T00:00:00Z"), 400, "invalid_timestamp"),
    ("captured-at-no-zone", md(captured_at="2026-11-21 10:00:00"), 400, "invalid_timestamp"),
    # sha256: the table has no dedicated code; a malformed metadata value.
    ("sha256-short", md(sha256="ab" * 31), 400, {"invalid_metadata", "bad_request"}),
    ("sha256-upper", md(sha256="AB" * 32), 400, {"invalid_metadata", "bad_request"}),
    ("sha256-nonhex", md(sha256="zz" * 32), 400, {"invalid_metadata", "bad_request"}),
]


@pytest.mark.parametrize("metadata,status,codes", [c[1:] for c in BAD_METADATA], ids=[c[0] for c in BAD_METADATA])
def test_bad_metadata_is_rejected_at_creation(live_core, site, metadata, status, codes):
    staged = live_core.staging_entries()
    r = site.create(16, metadata)
    assert_error(r, status, codes)
    assert "Location" not in r.headers
    assert live_core.staging_entries() == staged
    assert live_core.lake_files(site.site) == []


def test_ignored_keys_of_stock_clients_are_accepted(site):
    r = site.create(3, md(filename="x.csv", filetype="text/csv", type="text/csv", content_type="text/csv"))
    assert r.status_code == 201, r.text


def test_bare_metadata_key_means_empty_value(site):
    # `name` without a value is an empty name.
    r = site.create(3, f"name,stream {b64('s')}")
    assert_error(r, 400, "invalid_name")


def test_upload_length_rules(live_core, site):
    staged = live_core.staging_entries()
    assert_error(site.create(None, GOOD), 400, "bad_request")
    for bad in ["abc", "-1", "1.5", "", "0x10", "99999999999999999999999999"]:
        assert_error(site.create(None, GOOD, headers={"Upload-Length": bad}), 400, {"bad_request", "too_large"})
    assert_error(site.create(None, GOOD, headers={"Upload-Defer-Length": "1"}), 400, "bad_request")
    assert_error(site.create(SESSION_MAX_UPLOAD + 1, GOOD), 413, "too_large")
    assert live_core.staging_entries() == staged
    r = site.create(SESSION_MAX_UPLOAD, GOOD)
    assert r.status_code == 201, r.text
    assert site.delete(r.headers["Location"]).status_code == 204


def test_creation_answer(live_core, site):
    r = site.create(10, GOOD)
    assert r.status_code == 201, r.text
    loc = r.headers["Location"]
    upload_id = loc.rsplit("/", 1)[-1]
    assert loc == f"/v1/uploads/{upload_id}" or loc.endswith(f"/v1/uploads/{upload_id}")
    assert len(upload_id) == 32 and all(c in "0123456789abcdef" for c in upload_id)
    assert r.headers["Upload-Offset"] == "0"
    assert r.headers.get("Upload-Expires", "").endswith("GMT")
    assert r.headers.get("Tus-Resumable") == "1.0.0"
    assert upload_id in live_core.staging_entries()
    h = site.head(loc)
    assert h.status_code == 200
    assert h.headers["Upload-Offset"] == "0" and h.headers["Upload-Length"] == "10"
    assert h.headers.get("Tributary-Upload-State") == "receiving"
    assert "no-store" in h.headers.get("Cache-Control", "")
    assert h.headers.get("Upload-Expires")
    assert "name " + b64("dir/reading.csv") in h.headers.get("Upload-Metadata", "")
    assert site.delete(loc).status_code == 204
