#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into Fuzz/corpus/TARGET/ (docs/FUZZING.md).

Seeds are real inputs: segments in the format of docs/PROTOCOL.md built the way SegmentWriter
builds them (pax headers for long names, the manifest first), archives written by GNU tar and
compressed by the zstd command line, and the headers and bodies an edge agent sends. Run it
again after a format change; the output is deterministic.

    python3 Fuzz/make-corpus.py
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(ROOT, "corpus")


def sha(b):
    return hashlib.sha256(b).hexdigest()


def tar_of(members, fmt=tarfile.PAX_FORMAT, end=True):
    """A tar stream of (path, bytes) members, as Python's tarfile writes it (ustar + pax)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for path, data in members:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    out = buf.getvalue()
    if not end:
        out = out.rstrip(b"\0")
        out += b"\0" * (-len(out) % 512)
    return out


def pax_tar(records):
    """A pax extended header (typeflag 'x') holding `records` verbatim, then a member 'a'."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        x = tarfile.TarInfo("PaxHeaders/a")
        x.type = tarfile.XHDTYPE
        x.size = len(records)
        t.addfile(x, io.BytesIO(records))
        a = tarfile.TarInfo("a")
        a.size = 100
        t.addfile(a, io.BytesIO(CSV[:100]))
    return buf.getvalue()


def manifest(items, version=1):
    """Version 1 lists every sha256 and `ref`; version 2 (compact) only a ref's sha256 and `ref: true`."""
    objects = []
    for stream, name, data, captured, ref in items:
        o = {"stream": stream, "name": name, "size": len(data)}
        if version == 1 or ref:
            o["sha256"] = sha(data)
        if version == 1 or ref:
            o["ref"] = ref
        if captured:
            o["captured_at"] = captured
        objects.append(o)
    return json.dumps({"format": "tributary-segment", "version": version, "objects": objects},
                      sort_keys=True, separators=(",", ":")).encode()


def segment_tar(items, version=1):
    members = [("tributary-manifest.json", manifest(items, version))]
    members += [(s + "/" + n, d) for s, n, d, _, ref in items if not ref]
    return tar_of(members)


def zstd(data, *flags):
    return subprocess.run(["zstd", "-q", "-c", *flags], input=data, stdout=subprocess.PIPE, check=True).stdout


def gnu_tar(files):
    """A segment-shaped archive written by GNU tar itself (posix format, padded to a record)."""
    with tempfile.TemporaryDirectory() as d:
        for path, data in files:
            p = os.path.join(d, path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        names = [p for p, _ in files]
        return subprocess.run(["tar", "--format=posix", "--pax-option=delete=atime,delete=ctime", "--mtime=@0",
                               "--owner=0", "--group=0", "--numeric-owner", "-C", d, "-cf", "-", *names],
                              stdout=subprocess.PIPE, check=True).stdout


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


CSV = b"t,x,y,z\n" + b"".join(b"%d,0.%d,1.%d,-0.%d\n" % (i, i, i * 7 % 10, i * 3 % 10) for i in range(40))
LONG = "deep/" * 30 + "reading-with-a-long-name.csv"
SEGMENTS = {
    "one": [("vibration", "a.csv", CSV, "2026-11-21T10:00:00Z", False)],
    "three": [("vibration", "a.csv", CSV, "2026-11-21T10:00:00.250Z", False),
              ("vibration", "dir/b.csv.gz", b"\x1f\x8b" + CSV[:100], None, False),
              ("temperature", "c.json", b'{"c":21.5}\n', "2026-11-21T11:00:00+02:00", False)],
    "ref": [("vibration", "a.csv", CSV, None, True), ("vibration", "b.csv", CSV[:10], None, False)],
    "longname": [("vibration", LONG, CSV[:512], None, False)],
    "empty-object": [("s", "empty", b"", None, False)],
}


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    for label, items in SEGMENTS.items():
        plain = segment_tar(items)
        write("tar", label + ".tar", plain)
        write("segment", label + ".plain", b"\x00" + plain)           # even: the target compresses
        write("segment", label + ".zst", b"\x01" + zstd(plain, "--check"))  # odd: as sent
        write("json", label + ".manifest", b"\x02" + manifest(items))
        compact = segment_tar(items, version=2)
        write("segment", label + ".v2.plain", b"\x00" + compact)
        write("segment", label + ".v2.zst", b"\x01" + zstd(compact, "--check"))
        write("json", label + ".v2.manifest", b"\x02" + manifest(items, version=2))
    # GNU tar's own output (pax headers, padding to a 10 KiB record), and two zstd frames.
    items = SEGMENTS["three"]
    files = [("tributary-manifest.json", manifest(items))] + [(s + "/" + n, d) for s, n, d, _, r in items]
    gnu = gnu_tar(files)
    write("tar", "gnu.tar", gnu)
    write("segment", "gnu.plain", b"\x02" + gnu)
    half = len(gnu) // 2
    write("segment", "two-frames.zst", b"\x03" + zstd(gnu[:half]) + zstd(gnu[half:], "-19"))
    write("tar", "ustar-only.tar", tar_of([("a/b.csv", CSV)], fmt=tarfile.USTAR_FORMAT))
    write("tar", "no-end.tar", tar_of([("a/b.csv", CSV)], end=False))
    # The record that used to crash the core (issue 9): a pax length smaller than its digits.
    write("tar", "pax-short-length.tar", pax_tar(b"1 path=a\n"))
    write("tar", "pax-records.tar", pax_tar(b"13 path=a/b\n12 size=100\n"))
    # The tar target's finding on the old parser (docs/FUZZING.md): a length with a leading zero.
    write("tar", "pax-leading-zero.tar", pax_tar(b"01 path=a/b\n12 size=100\n"))

    for name, value in {
        "segment": "kind c2VnbWVudA==,sha256 " + "YWJj",
        "object": "kind b2JqZWN0,stream dmlicmF0aW9u,name YS5jc3Y=,captured_at MjAyNi0xMS0yMVQxMDowMDowMFo=,encoding enN0ZA==",
        "flag": "is_confidential,filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==",
        "empty": "",
    }.items():
        write("metadata", name, value.encode())
    for i, (mode, s) in enumerate([(0, "vibration"), (1, "site-01.north"), (2, "dir/sub/reading.2026.csv.gz"),
                                   (2, ".hidden/x y.csv"), (2, "a/" + "b" * 250 + ".csv"), (2, "ünïcode/naïve.csv")]):
        write("names", "seed%d" % i, bytes([mode]) + s.encode())
    for i, s in enumerate(["2026-11-21T10:00:00Z", "2026-11-21T10:00:00.123456Z", "2024-02-29T23:59:60+14:00",
                           "1970-01-01T00:00:00-23:59", "9999-12-31t23:59:59z", "0001-01-01T00:00:00Z"]):
        write("timestamp", "seed%d" % i, s.encode())
    # ListObjectsV2 answers as S3, MinIO and SeaweedFS write them (the edge's bucket sources).
    listing = ('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
               '<Name>site</Name><Prefix>in/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>'
               '<NextContinuationToken>tok&amp;1</NextContinuationToken>'
               '<Contents><Key>in/a/x&amp;y.csv</Key><LastModified>2026-11-30T10:00:00.000Z</LastModified>'
               '<ETag>&quot;abc123&quot;</ETag><Size>42</Size><Owner><ID>o</ID><DisplayName>d</DisplayName></Owner>'
               '<StorageClass>STANDARD</StorageClass></Contents>'
               '<Contents><Key>in/b/&#233;t&#xE9;.bin</Key><ETag>"def-2"</ETag><Size>0</Size></Contents></ListBucketResult>\n')
    write("s3listing", "seed0", listing.encode())
    write("s3listing", "seed1", b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount>'
          b'<IsTruncated>false</IsTruncated></ListBucketResult>')
    write("s3listing", "seed2", b'<ListBucketResult><Contents><Key>a/b/c.csv</Key><LastModified>2026-11-30T12:00:00Z</LastModified>'
          b'<ETag>"d41d8cd98f00b204e9800998ecf8427e-2"</ETag><Size>12345</Size><StorageClass>STANDARD</StorageClass>'
          b'</Contents><IsTruncated>false</IsTruncated></ListBucketResult>')
    have = json.dumps({"sha256": [sha(CSV), sha(b"")]}).encode()
    write("json", "have", b"\x00" + have)
    report = {
        "agent_version": "0.1.0", "reported_at": "2026-11-21T10:00:00.000Z",
        "streams": [{"stream": "vibration", "pending_objects": 3, "pending_bytes": 1200,
                     "oldest_captured_at": "2026-11-21T09:00:00.000Z"}],
        "pending_objects": 3, "pending_bytes": 1200, "oldest_captured_at": "2026-11-21T09:00:00.000Z",
        "spool_used_bytes": 4096, "spool_max_bytes": 1 << 30, "spool_used_objects": 3, "spool_max_objects": 100000,
        "dropped_objects": 0, "dropped_bytes": 0, "quarantined_objects": 0, "link_state": "up",
        "last_error": None, "last_success_at": "2026-11-21T09:59:00.000Z",
    }
    write("json", "heartbeat", b"\x01" + json.dumps(report, sort_keys=True).encode())
    # A compact receipt (core → edge): one object, stored.
    line = "vibration\0a.csv\0%s\0%d\n" % (sha(CSV), len(CSV))
    compact = {"format": "compact-1", "upload_id": "0" * 32, "site": "plant-a", "kind": "segment",
               "committed_at": "2026-11-21T10:00:01.120Z", "count": 1,
               "objects_sha256": sha(line.encode()), "duplicates": []}
    write("json", "compact-receipt", b"\x03" + json.dumps(compact, sort_keys=True).encode())
    write("json", "have-binary", b"\x04" + bytes.fromhex(sha(CSV)) + bytes.fromhex(sha(b"")))
    write("json", "have-answer", b"\x05" + bytes([11, 0b101, 0b100]))

    # Dictionaries: a zstd-trained one (even: validated, then a segment decoded with it), and
    # segments fed as compressed bytes to a reader holding the target's own dictionary (odd).
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i in range(60):
            p = os.path.join(d, "s%02d.csv" % i)
            with open(p, "wb") as f:
                f.write(b"time,station\n" + b"".join(b"%d,station-%d,%d.%d\n" % (1795000000 + 3600 * j, i % 7, (i + j) % 30, j % 10)
                                                  for j in range(30)))
            paths.append(p)
        subprocess.run(["zstd", "-q", "--train", *paths, "-o", os.path.join(d, "dict"), "--maxdict=4096"], check=True)
        with open(os.path.join(d, "dict"), "rb") as f:
            trained = f.read()
    write("dictionary", "trained.zdict", b"\x00" + trained)
    write("dictionary", "raw-content", b"\x02" + CSV)
    plain = segment_tar(SEGMENTS["three"])
    write("dictionary", "segment-no-dict.zst", b"\x01" + zstd(plain, "--check"))
    toml_seeds()


# Every construct the TOML reader knows, in one configuration file (the BOM included).
EVERYTHING_TOML = '''\ufeff# comment
a.b."c d" = 'lit'
ints = [0, +7, -12, 1_000, 0xDEAD_beef, 0o755, 0b1010]
floats = [1.5, -0.25, 6e2, 1E-2, inf, -inf, nan]
esc = "t\\t\\u00e9\\U0001F600\\""
ml = """
line \\
  two"""
mll = \'\'\'
raw\\n\'\'\'
arr = [
  [1, 2], # c
  { x = 1, y.z = "w" },
]
[t]
k = true
[[t.s]]
n = 1
'''


def toml_seeds():
    """Configuration files: the shipped examples, the TOML the agents' tests write, and one
    document with every construct the reader knows."""
    repo = os.path.dirname(ROOT)
    for name, path in (("edge-example", "edge/tributary-edge.toml"), ("core-example", "core/tributary-core.toml")):
        with open(os.path.join(repo, path), "rb") as f:
            write("toml", name, f.read())
    write("toml", "sources", b'[edge]\nsite = "p"\ncore = ["http://127.0.0.1:1", "http://127.0.0.1:2"]\n'
          b'[[source]]\nname = "cams"\ntype = "s3"\nendpoint = "http://127.0.0.1:8333"\npoll_seconds = 1\n'
          b'[[edge.source]]\nname = "x"\n')
    write("toml", "forward", b'[core]\nlisten = "0.0.0.0:8080"\n[forward]\nurl = "https://up"\nrpo_seconds = 60\n')
    write("toml", "everything", EVERYTHING_TOML.encode())


if __name__ == "__main__":
    main()
