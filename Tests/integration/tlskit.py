"""A test PKI made with `openssl` inside the test, and cores that serve HTTPS (issue 11).

`TestCA(dir, name)` makes a CA; `ca.issue(cn, ...)` a server or client certificate signed by it
(valid, expired, or for another host). `tls_core(core_factory, pki, ...)` starts a core with
`--tls-cert/--tls-key` (and `--tls-client-ca` for mutual TLS) whose `Client`s verify it with the
test CA and present the given client certificate.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def openssl(*args: str, cwd: Path | None = None) -> None:
    p = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=cwd, timeout=60)
    assert p.returncode == 0, f"openssl {' '.join(args)}: {p.stderr}"


@dataclass
class Issued:
    cert: str
    key: str

    @property
    def pair(self) -> tuple[str, str]:
        return (self.cert, self.key)

    def fingerprint(self) -> str:
        """`openssl x509 -fingerprint -sha256` as an operator copies it (AB:CD:…)."""
        out = subprocess.run(["openssl", "x509", "-in", self.cert, "-noout", "-fingerprint", "-sha256"],
                             capture_output=True, text=True, check=True).stdout
        return out.strip().split("=", 1)[1]


class TestCA:
    __test__ = False  # not a pytest class

    def __init__(self, directory: Path, name: str):
        self.dir = Path(directory) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.key = str(self.dir / "ca.key")
        self.cert = str(self.dir / "ca.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", self.key, "-out", self.cert, "-days", "30", "-subj", f"/CN={name} test CA")
        # `openssl ca` (for certificates valid in the past) keeps a database.
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        (self.dir / "new").mkdir(exist_ok=True)
        (self.dir / "ca.cnf").write_text(
            "[ca]\ndefault_ca = tca\n[tca]\n"
            f"database = {self.dir}/index.txt\nnew_certs_dir = {self.dir}/new\nserial = {self.dir}/serial\n"
            "default_md = sha256\npolicy = pol\nunique_subject = no\ncopy_extensions = none\n"
            "[pol]\ncommonName = supplied\n")

    def issue(self, cn: str, *, client: bool = False, hosts: tuple[str, ...] = ("IP:127.0.0.1", "DNS:localhost"),
              expired: bool = False) -> Issued:
        base = self.dir / cn.replace("/", "_")
        key, csr, ext, cert = (str(base) + s for s in (".key", ".csr", ".ext", ".pem"))
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
        usage = "clientAuth" if client else "serverAuth"
        lines = ["basicConstraints = CA:FALSE", "keyUsage = digitalSignature", f"extendedKeyUsage = {usage}"]
        if not client and hosts:
            lines.append("subjectAltName = " + ",".join(hosts))
        Path(ext).write_text("\n".join(lines) + "\n")
        if expired:
            openssl("ca", "-batch", "-config", str(self.dir / "ca.cnf"), "-cert", self.cert, "-keyfile", self.key,
                    "-in", csr, "-out", cert, "-startdate", "20200101000000Z", "-enddate", "20200201000000Z",
                    "-extfile", ext, "-notext")
        else:
            openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial",
                    "-out", cert, "-days", "7", "-extfile", ext)
        return Issued(cert, key)


class PKI:
    """One test CA for servers and clients, and a second, unrelated one."""

    def __init__(self, directory: Path):
        self.ca = TestCA(directory, "main")
        self.other = TestCA(directory, "other")
        self.server = self.ca.issue("core")
        self.operator = self.ca.issue("operator", client=True)  # the suite's own client certificate


def tls_core(core_factory, pki: PKI, *, mutual: bool = False, args: tuple[str, ...] = (), env=None,
             server: Issued | None = None):
    server = server or pki.server
    flags = ["--tls-cert", server.cert, "--tls-key", server.key]
    if mutual:
        flags += ["--tls-client-ca", pki.ca.cert]
    core = core_factory(args=[*flags, *args], env=env, start=False)
    core.scheme = "https"
    core.verify = pki.ca.cert
    core.client_cert = pki.operator.pair if mutual else None
    return core.start()
