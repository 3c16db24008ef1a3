"""Interop with a stock tus client (tuspy), including a resume after a cut connection."""

import os
import time

import pytest
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.storage.filestorage import FileStorage

from conftest import CuttingProxy, expected_key, sha256_hex, upload_id_of, wait_until

CHUNK = 256 * 1024
CAPTURED = "2026-11-21T08:15:00Z"


def metadata(name, data):
    return {"name": name, "stream": "tus", "sha256": sha256_hex(data), "captured-at": CAPTURED,
            "filename": name}  # stock clients often send filename: accepted and ignored


def test_tuspy_upload(live_core, site, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 123)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    client = tus_client.TusClient(live_core.uploads_url, headers={"Authorization": f"Bearer {site.token}"})
    uploader = client.uploader(str(path), chunk_size=CHUNK, metadata=metadata("big.bin", data),
                               upload_checksum=True)  # tuspy checksums chunks with sha1
    uploader.upload()
    assert uploader.offset == len(data)
    assert uploader.request.status_code == 204
    assert uploader.request.response_headers.get("tributary-upload-state") == "committed"
    receipt = site.receipt(uploader.url)
    key = expected_key("tus", site.site, CAPTURED, "big.bin", sha256_hex(data))
    assert receipt["objects"] == [{"stream": "tus", "name": "big.bin", "sha256": sha256_hex(data),
                                   "size": len(data), "status": "stored", "key": key}]
    assert live_core.read_lake(key) == data
    assert upload_id_of(uploader.url) not in live_core.staging_entries()


def test_tuspy_resumes_after_cut_connection(live_core, site, tmp_path):
    data = os.urandom(3 * 1024 * 1024)
    path = tmp_path / "resume.bin"
    path.write_bytes(data)
    storage = FileStorage(str(tmp_path / "tus-urls.json"))
    auth = {"Authorization": f"Bearer {site.token}"}
    proxy = CuttingProxy(live_core.port, cut_after=1_500_000)
    try:
        via_proxy = tus_client.TusClient(proxy.url("/v1/uploads"), headers=auth)
        uploader = via_proxy.uploader(str(path), chunk_size=CHUNK, metadata=metadata("resume.bin", data),
                                      store_url=True, url_storage=storage, retries=0)
        with pytest.raises((TusUploadFailed, TusCommunicationError)):
            uploader.upload()
        assert proxy.cut.is_set(), "the proxy never cut the connection"
        acknowledged = uploader.offset
        assert acknowledged > 0
        stored_url = storage.get_item(uploader._get_fingerprint())
        assert stored_url and stored_url.startswith(proxy.url())
    finally:
        proxy.close()

    upload_id = upload_id_of(stored_url)
    core_url = live_core.url(f"/v1/uploads/{upload_id}")

    # The core keeps what it acknowledged, and (no Upload-Checksum) what it received of the cut chunk.
    # (the core may still be unwinding the cut PATCH for a moment: wait until HEAD is stable for 1 s)
    def settled_offset():
        seen = []
        for _ in range(4):
            seen.append(site.offset(core_url))
            time.sleep(0.33)
        return seen[0] if len(set(seen)) == 1 else None
    offset = wait_until(settled_offset, timeout=8, what="the durable offset to settle after the cut")
    assert acknowledged <= offset < len(data), (acknowledged, offset)
    assert offset > 0
    assert site.head(core_url).headers["Tributary-Upload-State"] == "receiving"

    # Resume directly against the core, the way a tus client resumes: from its URL storage.
    storage.set_item(uploader._get_fingerprint(), core_url)
    direct = tus_client.TusClient(live_core.uploads_url, headers=auth)
    resumed = direct.uploader(str(path), chunk_size=CHUNK, metadata=metadata("resume.bin", data),
                              store_url=True, url_storage=storage, retries=3, retry_delay=1)
    assert resumed.url == core_url
    assert resumed.offset >= offset
    resumed.upload()
    assert resumed.offset == len(data)
    receipt = site.receipt(core_url)
    obj = receipt["objects"][0]
    assert obj["status"] == "stored" and obj["size"] == len(data) and obj["sha256"] == sha256_hex(data)
    assert live_core.read_lake(obj["key"]) == data
    assert live_core.lake_files(site.site) == [obj["key"]]
    assert live_core.count("SELECT COUNT(*) FROM arrivals WHERE upload_id = ?", (upload_id,)) == 1
    assert upload_id not in live_core.staging_entries()
    storage.close()
