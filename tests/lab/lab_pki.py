"""The lab's own PKI, generated per lab run with the openssl CLI.

root (CA:TRUE) -> intermediate (CA:TRUE, pathlen:0) -> one leaf per site.
Everything is signed with `openssl ca`, the only OpenSSL 3.0 tool that takes
explicit notBefore/notAfter dates (needed for expired and not-yet-valid
leaves). Keys are EC P-256. The CA names deliberately do not start with
"tlsgate", so they can never be mistaken for the gateway's CA.
"""

from __future__ import annotations

import datetime
import pathlib
import subprocess

import lab_sites as plan

ROOT_CN = "Lab Test Root CA"
INTERMEDIATE_CN = "Lab Test Intermediate CA"

_CA_CONFIG = """\
[ca]
default_ca = lab_ca
[lab_ca]
database = {dir}/index.txt
serial = {dir}/serial
new_certs_dir = {dir}/issued
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[policy_any]
commonName = supplied
organizationName = optional
[ext_root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ext_intermediate]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""

_LEAF_EXTENSIONS = """\
[ext_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
{san}
"""


def _openssl(*args: str) -> None:
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {proc.stderr.strip()}")


def _asn1_time(days_from_now: int) -> str:
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days_from_now)
    return t.strftime("%Y%m%d%H%M%SZ")


class LabPki:
    def __init__(self, directory: pathlib.Path, lab_id: str):
        self.dir = pathlib.Path(directory)
        self.lab_id = lab_id
        self.root_cert = self.dir / "root.pem"
        self.root_key = self.dir / "root.key"
        self.intermediate_cert = self.dir / "intermediate.pem"
        self.intermediate_key = self.dir / "intermediate.key"
        self._config = self.dir / "ca.cnf"

    def leaf_cert(self, site: plan.Site) -> pathlib.Path:
        return self.dir / f"{site.slug}.pem"

    def leaf_key(self, site: plan.Site) -> pathlib.Path:
        return self.dir / f"{site.slug}.key"

    def served_chain(self, site: plan.Site) -> pathlib.Path:
        """What nginx sends: leaf then intermediate."""
        return self.dir / f"{site.slug}.chain.pem"

    def generate(self, sites=plan.SITES) -> None:
        (self.dir / "issued").mkdir(parents=True, exist_ok=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("01\n")  # required by the config; -rand_serial is used
        self._config.write_text(_CA_CONFIG.format(dir=self.dir))
        self._new_key(self.root_key)
        self._sign(subject=f"/O=Lab Test {self.lab_id}/CN={ROOT_CN}", key=self.root_key,
                   out=self.root_cert, extensions="ext_root", days=(-400, 3650), self_signed=True)
        self._new_key(self.intermediate_key)
        self._sign(subject=f"/O=Lab Test {self.lab_id}/CN={INTERMEDIATE_CN}",
                   key=self.intermediate_key, out=self.intermediate_cert,
                   extensions="ext_intermediate", days=(-400, 1825),
                   issuer=(self.root_cert, self.root_key))
        for s in sites:
            self._leaf(s)

    def _leaf(self, site: plan.Site) -> None:
        ext = self.dir / f"{site.slug}.ext"
        san = ("subjectAltName = " + ",".join(f"DNS:{n}" for n in site.san)) if site.san else ""
        ext.write_text(_LEAF_EXTENSIONS.format(san=san))
        self._new_key(self.leaf_key(site))
        self._sign(subject=f"/O=Lab Test/CN={site.name}", key=self.leaf_key(site),
                   out=self.leaf_cert(site), extensions="ext_leaf", extfile=ext,
                   days=(site.leaf.not_before_days, site.leaf.not_after_days),
                   issuer=(self.intermediate_cert, self.intermediate_key))
        self.served_chain(site).write_text(
            self.leaf_cert(site).read_text() + self.intermediate_cert.read_text())

    def _new_key(self, path: pathlib.Path) -> None:
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", str(path))
        path.chmod(0o600)

    def _sign(self, *, subject, key, out, extensions, days, issuer=None, extfile=None,
              self_signed=False) -> None:
        csr = out.with_suffix(".csr")
        _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
        args = ["ca", "-batch", "-notext", "-rand_serial", "-config", str(self._config),
                "-in", str(csr), "-out", str(out), "-extensions", extensions,
                "-startdate", _asn1_time(days[0]), "-enddate", _asn1_time(days[1])]
        if extfile is not None:
            args += ["-extfile", str(extfile)]
        if self_signed:
            args += ["-selfsign", "-keyfile", str(key)]
        else:
            args += ["-cert", str(issuer[0]), "-keyfile", str(issuer[1])]
        _openssl(*args)
        csr.unlink()
