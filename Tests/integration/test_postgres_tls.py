"""The catalog URL's `sslmode` against a PostgreSQL that serves a certificate from a test CA and
accepts TLS connections only (issue 11; docs/SECURITY.md, "PostgreSQL catalog")."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from backends import PG_BIN, Postgres
from conftest import core_binary
from tlskit import PKI


@pytest.fixture
def tls_postgres(tmp_path):
    pki = PKI(tmp_path / "pki")
    wrong_host = pki.ca.issue("elsewhere", hosts=("DNS:elsewhere.example",))
    pg = Postgres()  # its own directory under /tmp, which the postgres user can reach (tmp_path is 0700)
    pg._run(str(PG_BIN / "initdb"), "-D", str(pg.data), "-A", "trust", "-U", pg.user, "--no-sync", "-E", "UTF8")

    def serve(issued) -> None:
        # The key must belong to the server's user with mode 0600.
        for src, name in ((issued.cert, "server.crt"), (issued.key, "server.key")):
            dst = pg.root / name
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o600)
            if os.geteuid() == 0:
                pw = pwd.getpwnam("postgres")
                os.chown(dst, pw.pw_uid, pw.pw_gid)

    serve(pki.server)
    with open(pg.data / "postgresql.conf", "a") as f:
        f.write(f"\nssl = on\nssl_cert_file = '{pg.root}/server.crt'\nssl_key_file = '{pg.root}/server.key'\n")
    # TLS or nothing: a plain connection is refused by pg_hba.
    (pg.data / "pg_hba.conf").write_text("local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
    pg.start()
    db = pg.create_database()
    yield pg, pki, db, wrong_host, serve
    pg.cleanup()


def sites_add(pg: Postgres, db: str, query: str, site: str, data_dir: Path) -> subprocess.CompletedProcess:
    url = f"postgres://{pg.user}@127.0.0.1:{pg.port}/{db}?{query}"
    env = dict(os.environ)
    env.pop("PGPASSWORD", None)
    return subprocess.run([str(core_binary()), "sites", "add", site, "--data-dir", str(data_dir), "--catalog", url],
                          capture_output=True, text=True, timeout=120, env=env)


def test_sslmode_against_a_tls_only_postgres(tls_postgres, tmp_path):
    pg, pki, db, wrong_host, serve = tls_postgres
    d = tmp_path / "core"
    ok = sites_add(pg, db, f"sslmode=verify-full&sslrootcert={pki.ca.cert}", "plant-a", d)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().splitlines()[-1].startswith("trb_")
    # Plain TCP is refused by this server, so the site above went over TLS.
    plain = sites_add(pg, db, "sslmode=disable", "plant-b", d)
    assert plain.returncode != 0
    # A CA that did not sign the server's certificate: refused.
    other = sites_add(pg, db, f"sslmode=verify-ca&sslrootcert={pki.other.cert}", "plant-c", d)
    assert other.returncode != 0
    assert sites_add(pg, db, f"sslmode=require", "plant-d", d).returncode == 0  # encrypted, not checked
    # A certificate for another host: verify-full refuses it, verify-ca accepts it.
    serve(wrong_host)
    pg.psql("SELECT pg_reload_conf()")
    refused = sites_add(pg, db, f"sslmode=verify-full&sslrootcert={pki.ca.cert}", "plant-e", d)
    assert refused.returncode != 0
    accepted = sites_add(pg, db, f"sslmode=verify-ca&sslrootcert={pki.ca.cert}", "plant-f", d)
    assert accepted.returncode == 0, accepted.stderr
    names = pg.psql("SELECT string_agg(site, ',' ORDER BY site) FROM sites", db=db).strip()
    assert names == "plant-a,plant-d,plant-f"
