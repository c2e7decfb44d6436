"""What a client in the lab sees: curl and `openssl s_client` from the client
namespace, and the certificates it was served."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import pathlib
import re
import subprocess
import tempfile

import lab_sites as plan
from lab_netns import Topology, run

_PEM_RE = re.compile(r"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n?", re.S)
_ALERT_RE = re.compile(r"SSL alert number (\d+)")
_CIPHER_RE = re.compile(r"^New, (TLSv1\.[0-3]|SSLv3), Cipher is (\S+)", re.M)


def _bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@dataclasses.dataclass
class CurlResult:
    argv: list[str]
    exit_code: int
    body: str
    http_code: str
    http_version: str
    stderr: str

    def describe(self) -> str:
        return (f"curl exit {self.exit_code}, HTTP {self.http_code} (version {self.http_version})"
                f", body {self.body!r}, stderr {self.stderr.strip()!r}\n  {' '.join(self.argv)}")


def curl(topology: Topology, site_name: str, family: int, cacert: pathlib.Path,
         http1: bool = False, insecure: bool = False) -> CurlResult:
    address = plan.site_address(site_name, family)
    argv = ["curl", "-sS", "--max-time", "15", "--cacert", str(cacert),
            "--resolve", f"{site_name}:443:{_bracket(address)}",
            "-w", r"\n%{http_code} %{http_version}", f"https://{site_name}/"]
    if http1:
        argv.insert(1, "--http1.1")
    if insecure:
        argv.insert(1, "--insecure")
    proc = topology.run_in("client", argv, check=False, timeout=30)
    body, _, trailer = proc.stdout.rpartition("\n")
    code, _, version = trailer.partition(" ")
    return CurlResult(argv, proc.returncode, body, code, version, proc.stderr)


@dataclasses.dataclass
class Cert:
    pem: str
    subject: str  # RFC 2253
    issuer: str
    dns_names: list[str]

    @property
    def sha256(self) -> str:
        body = "".join(self.pem.strip().splitlines()[1:-1])
        return hashlib.sha256(base64.b64decode(body)).hexdigest()

    @property
    def issuer_cn(self) -> str:
        return _cn(self.issuer)

    @property
    def subject_cn(self) -> str:
        return _cn(self.subject)


def _cn(rfc2253: str) -> str:
    m = re.search(r"(?:^|,)CN=((?:\\.|[^,\\])*)", rfc2253)
    return m.group(1) if m else ""


def parse_cert(pem: str) -> Cert:
    proc = run(["openssl", "x509", "-noout", "-nameopt", "RFC2253", "-subject", "-issuer",
                "-ext", "subjectAltName"], input_text=pem)
    subject = issuer = ""
    for line in proc.stdout.splitlines():
        if line.startswith("subject="):
            subject = line[len("subject="):].strip()
        elif line.startswith("issuer="):
            issuer = line[len("issuer="):].strip()
    names = re.findall(r"DNS:([^,\s]+)", proc.stdout)
    return Cert(pem, subject, issuer, names)


def cert_file(path: pathlib.Path) -> Cert:
    return parse_cert(_PEM_RE.search(path.read_text()).group(0))


@dataclasses.dataclass
class Handshake:
    argv: list[str]
    completed: bool  # a cipher was negotiated
    protocol: str
    chain: list[Cert]  # as presented, leaf first
    alert: int | None  # TLS alert number received, if any
    output: str

    def describe(self) -> str:
        tail = "\n".join(self.output.strip().splitlines()[-12:])
        return (f"s_client: completed={self.completed} protocol={self.protocol} "
                f"alert={self.alert} chain={[c.subject for c in self.chain]}\n"
                f"  {' '.join(self.argv)}\n{tail}")


def s_client(topology: Topology, site_name: str, family: int) -> Handshake:
    address = plan.site_address(site_name, family)
    argv = ["openssl", "s_client", "-connect", f"{_bracket(address)}:443",
            "-servername", site_name, "-showcerts"]
    proc = topology.run_in("client", argv, check=False, timeout=30, input_text="")
    output = proc.stdout + proc.stderr
    cipher = _CIPHER_RE.search(output)
    completed = cipher is not None and cipher.group(2) != "(NONE)"
    alert = _ALERT_RE.search(output)
    chain = [parse_cert(pem) for pem in _PEM_RE.findall(proc.stdout)]
    return Handshake(argv, completed, cipher.group(1) if cipher else "", chain,
                     int(alert.group(1)) if alert else None, output)


def verify_chain(chain: list[Cert], root: pathlib.Path, hostname: str) -> tuple[bool, str]:
    """Does `chain` (leaf first) verify for `hostname` against `root` alone?"""
    with tempfile.TemporaryDirectory(prefix="tlsgate-lab-verify-") as tmp:
        leaf = pathlib.Path(tmp, "leaf.pem")
        leaf.write_text(chain[0].pem)
        argv = ["openssl", "verify", "-CAfile", str(root), "-purpose", "sslserver",
                "-verify_hostname", hostname]
        if len(chain) > 1:
            rest = pathlib.Path(tmp, "untrusted.pem")
            rest.write_text("".join(c.pem for c in chain[1:]))
            argv += ["-untrusted", str(rest)]
        proc = subprocess.run(argv + [str(leaf)], capture_output=True, text=True, timeout=30)
        return proc.returncode == 0, (proc.stdout + proc.stderr).strip()
