"""The backend pairs a core can run on, and how a test looks at what the core stored there.

- `FsSqlite`  — the embedded default: lake directory and catalog.sqlite in the data directory.
- `S3Postgres` — `--lake s3://BUCKET/PREFIX` on SeaweedFS and `--catalog postgres://…` on a real
  PostgreSQL (see backends.py). Each server gets its own database and key prefix unless told to
  share (the two-node tests share both).

A test reads the lake and the catalog through the pair, never through paths, so one test body
runs against every pair (the `core` fixture is parametrized over them).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from backends import Postgres, SeaweedFS


class FsSqlite:
    name = "fs+sqlite"

    def attach(self, server) -> None:
        pass

    def serve_args(self, server) -> list[str]:
        return []

    def cli_args(self, server) -> list[str]:
        return []

    def env(self, server) -> dict[str, str]:
        return {}

    def keys(self, server, prefix: str = "") -> list[str]:
        lake = server.data_dir / "lake"
        if not lake.is_dir():
            return []
        out = []
        for p in lake.rglob("*"):
            if p.is_file() or p.is_symlink():
                rel = p.relative_to(lake).as_posix()
                if rel.startswith("_tributary/tmp/"):
                    continue
                if rel.startswith(prefix):
                    out.append(rel)
        return sorted(out)

    def read(self, server, key: str) -> bytes | None:
        p = server.data_dir / "lake" / key
        return p.read_bytes() if p.is_file() else None

    def query(self, server, sql: str, params: tuple = ()) -> list[tuple]:
        db = server.data_dir / "catalog.sqlite"
        assert db.exists(), f"{db} does not exist"
        conn = sqlite3.connect(str(db), timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


class S3Postgres:
    name = "s3+postgres"

    def __init__(self, pg: Postgres, weed: SeaweedFS, *, database: str | None = None, prefix: str | None = None,
                 multipart_threshold: int = 6 << 20):
        self.pg = pg
        self.weed = weed
        self.shared_database = database
        self.shared_prefix = prefix
        self.multipart_threshold = multipart_threshold

    def shared(self) -> "S3Postgres":
        """A pair whose servers all use one database and one prefix (several nodes)."""
        return S3Postgres(self.pg, self.weed, database=self.pg.create_database(), prefix=f"lake-{uuid.uuid4().hex[:10]}",
                          multipart_threshold=self.multipart_threshold)

    def attach(self, server) -> None:
        server.catalog_db = self.shared_database or self.pg.create_database()
        server.lake_prefix = self.shared_prefix or f"lake-{uuid.uuid4().hex[:10]}"

    def catalog_url(self, server) -> str:
        return self.pg.url(server.catalog_db)

    def serve_args(self, server) -> list[str]:
        return ["--lake", f"s3://{self.weed.bucket}/{server.lake_prefix}", "--catalog", self.catalog_url(server)]

    def cli_args(self, server) -> list[str]:
        return ["--catalog", self.catalog_url(server)]

    def env(self, server) -> dict[str, str]:
        return {
            **self.weed.env(),
            "AWS_ENDPOINT_URL": self.weed.endpoint,
            "TRIBUTARY_S3_MULTIPART_THRESHOLD_BYTES": str(self.multipart_threshold),
            "TRIBUTARY_S3_PART_SIZE_BYTES": str(5 << 20),
            "TRIBUTARY_CATALOG_TIMEOUT_SECONDS": "5",
            "TRIBUTARY_S3_REQUEST_TIMEOUT_SECONDS": "5",
        }

    def keys(self, server, prefix: str = "") -> list[str]:
        s3 = self.weed.client()
        root = server.lake_prefix + "/"
        out = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.weed.bucket, Prefix=root + prefix):
            for o in page.get("Contents", []):
                out.append(o["Key"][len(root):])
        return sorted(out)

    def read(self, server, key: str) -> bytes | None:
        s3 = self.weed.client()
        try:
            return s3.get_object(Bucket=self.weed.bucket, Key=f"{server.lake_prefix}/{key}")["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None

    def query(self, server, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.pg.port, user=self.pg.user, dbname=server.catalog_db,
                             connect_timeout=10) as conn:
            return [tuple(r) for r in conn.execute(sql.replace("?", "%s"), params).fetchall()]


def object_keys(pair, server, site: str | None = None) -> list[str]:
    """Object keys (outside `_tributary/`), optionally of one site."""
    return sorted(k for k in pair.keys(server) if not k.startswith("_tributary/")
                  and (site is None or f"site={site}" in k.split("/")))


def manifest_lines(pair, server, upload_id: str | None = None) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for k in pair.keys(server, "_tributary/arrivals/"):
        if not k.endswith(".jsonl"):
            continue
        for raw in (pair.read(server, k) or b"").decode().splitlines():
            if raw.strip() and (upload_id is None or upload_id in raw):
                lines.append(json.loads(raw))
    return lines
