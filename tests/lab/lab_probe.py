"""What a client in the lab sees: curl and `openssl s_client` from the client
namespace, and the certificates it was served."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import ipaddress
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
         http1: bool = False, insecure: bool = False, path: str = "/",
         method: str = "GET") -> CurlResult:
    address = plan.site_address(site_name, family)
    argv = ["curl", "-sS", "--max-time", "15", "--cacert", str(cacert),
            "--resolve", f"{site_name}:443:{_bracket(address)}",
            "-w", r"\n%{http_code} %{http_version}", f"https://{site_name}{path}"]
    if method != "GET":
        argv[1:1] = ["-X", method]
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
    return handshake(topology, plan.site_address(site_name, family), site_name)


def handshake(topology: Topology, address: str, servername: str | None, *,
              options=(), input_text: str = "", source: str | None = None,
              timeout: int = 30) -> Handshake:
    """`openssl s_client` to address:443; servername None: no SNI at all."""
    argv = ["openssl", "s_client", "-connect", f"{_bracket(address)}:443", "-showcerts"]
    argv += ["-noservername"] if servername is None else ["-servername", servername]
    if source:
        argv += ["-bind", f"{_bracket(source)}:0"]
    argv += list(options)
    proc = topology.run_in("client", argv, check=False, timeout=timeout, input_text=input_text)
    output = proc.stdout + proc.stderr
    cipher = _CIPHER_RE.search(output)
    completed = cipher is not None and cipher.group(2) != "(NONE)"
    alert = _ALERT_RE.search(output)
    chain = [parse_cert(pem) for pem in _PEM_RE.findall(proc.stdout)]
    return Handshake(argv, completed, cipher.group(1) if cipher else "", chain,
                     int(alert.group(1)) if alert else None, output)


def alpn_of(hs: Handshake) -> str | None:
    m = re.search(r"^ALPN protocol: (\S+)", hs.output, re.M)
    return m.group(1) if m else None


@dataclasses.dataclass
class Fetch:
    """One HTTPS request by curl, with the response headers."""

    argv: list[str]
    exit_code: int
    status: str  # "403", "" when there was no response
    http_version: str  # "1.1", "2"
    headers: dict[str, list[str]]  # lower-case names
    body: str
    stderr: str

    def header(self, name: str) -> str:
        return ", ".join(self.headers.get(name.lower(), []))

    def describe(self) -> str:
        return (f"curl exit {self.exit_code}, HTTP {self.status or '-'} (version "
                f"{self.http_version or '-'}), headers {sorted(self.headers)}, "
                f"body {self.body[:300]!r}, stderr {self.stderr.strip()[-300:]!r}\n  "
                + " ".join(self.argv))

    def short(self) -> str:
        if self.exit_code != 0:
            alert = re.search(r"alert ([a-z ]+)", self.stderr)
            why = f" (alert {alert.group(1).strip()})" if alert else ""
            return f"curl exit {self.exit_code}{why}"
        return f"HTTP/{self.http_version} {self.status}"


def fetch(topology: Topology, host: str, address: str, cacert: pathlib.Path | None, *,
          path: str = "/", http: str = "2", insecure: bool = False, source: str | None = None,
          data: dict | None = None, timeout: int = 15) -> Fetch:
    """curl https://<host><path> with <host> resolved to `address` (a host that is
    an IP literal is requested as such: no SNI). http: "2" (ALPN h2,http/1.1)
    or "1.1". data: a form, POSTed url-encoded."""
    with tempfile.TemporaryDirectory(prefix="tlsgate-lab-fetch-") as tmp:
        header_file = pathlib.Path(tmp, "headers")
        argv = ["curl", "-sS", "--path-as-is", "--max-time", str(timeout),
                "-D", str(header_file), "-w", r"\n%{http_code} %{http_version}"]
        argv.append("--http2" if http == "2" else "--http1.1")
        if cacert is not None:
            argv += ["--cacert", str(cacert)]
        if insecure:
            argv.append("--insecure")
        if source:
            argv += ["--interface", source]
        for key, value in (data or {}).items():
            argv += ["--data-urlencode", f"{key}={value}"]
        try:
            ipaddress.ip_address(host)
            url_host = _bracket(host)
        except ValueError:
            argv += ["--resolve", f"{host}:443:{_bracket(address)}"]
            url_host = host
        argv.append(f"https://{url_host}{path}")
        proc = topology.run_in("client", argv, check=False, timeout=timeout + 15)
        raw_headers = header_file.read_text(errors="replace") if header_file.exists() else ""
    body, _, trailer = proc.stdout.rpartition("\n")
    code, _, version = trailer.partition(" ")
    headers: dict[str, list[str]] = {}
    # With redirects not followed there is one header block; keep the last anyway.
    block = raw_headers.strip().split("\r\n\r\n")[-1]
    for line in block.splitlines()[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    return Fetch(argv, proc.returncode, "" if code == "000" else code, version, headers, body,
                 proc.stderr)


@dataclasses.dataclass
class CertDetails:
    """The fields of a certificate the battery checks (from `openssl x509 -text`)."""

    text: str
    serial_hex: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    signature_algorithm: str
    public_key: str  # "id-ecPublicKey 256", "rsaEncryption 2048"
    basic_constraints: str
    key_usage: str
    ext_key_usage: str
    has_policies: bool
    dns_names: list[str]
    ip_addresses: list[str]


def _extension(text: str, name: str) -> str:
    m = re.search(rf"X509v3 {name}:[^\n]*\n\s+([^\n]*)", text)
    return m.group(1).strip() if m else ""


def cert_details(pem: str) -> CertDetails:
    text = run(["openssl", "x509", "-noout", "-text"], input_text=pem).stdout
    dates = run(["openssl", "x509", "-noout", "-dates", "-serial"], input_text=pem).stdout
    fields = dict(line.split("=", 1) for line in dates.splitlines() if "=" in line)

    def when(value: str) -> datetime.datetime:
        return datetime.datetime.strptime(value.strip(), "%b %d %H:%M:%S %Y %Z").replace(
            tzinfo=datetime.timezone.utc)

    algorithm = re.search(r"Signature Algorithm: (\S+)", text)
    key_type = re.search(r"Public Key Algorithm: (\S+)", text)
    key_bits = re.search(r"Public-Key: \((\d+) bit\)", text)
    san = _extension(text, "Subject Alternative Name")
    return CertDetails(
        text=text, serial_hex=fields.get("serial", "").strip().lower(),
        not_before=when(fields["notBefore"]), not_after=when(fields["notAfter"]),
        signature_algorithm=algorithm.group(1) if algorithm else "",
        public_key=f"{key_type.group(1) if key_type else '?'} "
                   f"{key_bits.group(1) if key_bits else '?'}",
        basic_constraints=_extension(text, "Basic Constraints"),
        key_usage=_extension(text, "Key Usage"),
        ext_key_usage=_extension(text, "Extended Key Usage"),
        has_policies="X509v3 Certificate Policies" in text,
        dns_names=re.findall(r"DNS:([^,\s]+)", san),
        ip_addresses=re.findall(r"IP Address:([^,\s]+)", san))


def critical(text: str, extension: str) -> bool:
    return re.search(rf"X509v3 {extension}: critical", text) is not None


def verify_chain(chain: list[Cert], root: pathlib.Path, hostname: str) -> tuple[bool, str]:
    """Does `chain` (leaf first) verify for `hostname` against `root` alone?"""
    with tempfile.TemporaryDirectory(prefix="tlsgate-lab-verify-") as tmp:
        leaf = pathlib.Path(tmp, "leaf.pem")
        leaf.write_text(chain[0].pem)
        try:
            ipaddress.ip_address(hostname)
            name_check = ["-verify_ip", hostname]
        except ValueError:
            name_check = ["-verify_hostname", hostname]
        argv = ["openssl", "verify", "-CAfile", str(root), "-purpose", "sslserver",
                *name_check]
        if len(chain) > 1:
            rest = pathlib.Path(tmp, "untrusted.pem")
            rest.write_text("".join(c.pem for c in chain[1:]))
            argv += ["-untrusted", str(rest)]
        proc = subprocess.run(argv + [str(leaf)], capture_output=True, text=True, timeout=30)
        return proc.returncode == 0, (proc.stdout + proc.stderr).strip()
