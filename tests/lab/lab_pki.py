"""The lab's own PKI, generated per lab run with the openssl CLI.

root (CA:TRUE) -> intermediate (CA:TRUE, pathlen:0) -> one leaf per site,
each leaf shaped by its LeafProfile (lab_sites.py). Everything is signed with
`openssl ca`, the only OpenSSL 3.0 tool that takes explicit notBefore/notAfter
dates (needed for expired and not-yet-valid leaves). Keys are EC P-256 unless
a profile asks for RSA. The CA names deliberately do not start with
"tlsgate", so they can never be mistaken for the gateway's CA.

The battery needs more issuers (ISSUERS), made only when a site uses them:
an RSA root (MD5 signatures need an RSA signer: there is no ECDSA-with-MD5),
weak intermediates, a root nobody trusts, and a leaf posing as a CA. The
gateway's trust store is `trust_bundle`: the lab root, plus the RSA root when
it exists. Revocation: a CRL of the intermediate (served over HTTP by the
"crl" site) and stapled OCSP responses, both from `openssl ca`'s database.
"""

from __future__ import annotations

import base64
import datetime
import pathlib
import re
import subprocess

import lab_sites as plan

ROOT_CN = "Lab Test Root CA"
INTERMEDIATE_CN = "Lab Test Intermediate CA"
CRL_PATH = "/intermediate.crl"  # on the crl site

_CA_CONFIG = """\
[ca]
default_ca = lab_ca
[lab_ca]
database = {dir}/index.txt
serial = {dir}/serial
crlnumber = {dir}/crlnumber
new_certs_dir = {dir}/issued
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
preserve = yes
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
[ext_crl]
authorityKeyIdentifier = keyid:always
"""

# name -> (signing issuer, key type, digest used by the signer, CN). Roots
# have no signing issuer. Made on demand, in dependency order.
ISSUERS = {
    "root": (None, "ec", "sha256", ROOT_CN),
    "intermediate": ("root", "ec", "sha256", INTERMEDIATE_CN),
    "rsa_root": (None, "rsa2048", "sha256", "Lab Test RSA Root CA"),
    "rsa_intermediate": ("rsa_root", "rsa2048", "sha256", "Lab Test RSA Intermediate CA"),
    "md5_intermediate": ("rsa_root", "ec", "md5", "Lab Test MD5-signed Intermediate CA"),
    "sha1_intermediate": ("root", "ec", "sha1", "Lab Test SHA-1-signed Intermediate CA"),
    "rsa1024_intermediate": ("root", "rsa1024", "sha256", "Lab Test RSA-1024 Intermediate CA"),
    "other_root": (None, "ec", "sha256", "Other Untrusted Root CA"),
    "other": ("other_root", "ec", "sha256", "Other Untrusted Intermediate CA"),
    # A server certificate (CA:FALSE) used as if it were an intermediate.
    "non_ca": ("intermediate", "ec", "sha256", "not-a-ca.lab.test"),
    # Installed as the gateway's own CA (its first CA's layout) by the tests
    # that check the gateway never accepts itself upstream; "tlsgate" CNs, as
    # the gateway's own. "gateway_cross" is its root's key certified by the
    # lab root (a cross-certificate).
    "gateway_root": (None, "ec", "sha256", "tlsgate Lab Gateway Root CA"),
    "gateway_ca": ("gateway_root", "ec", "sha256", "tlsgate Lab Gateway Intermediate CA"),
}
TRUSTED_ROOTS = ("root", "rsa_root")


def _openssl(*args: str, timeout: int = 120) -> str:
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)[:300]}: {proc.stderr.strip()[-800:]}")
    return proc.stdout


def _asn1_time(days_from_now: int) -> str:
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days_from_now)
    return t.strftime("%Y%m%d%H%M%SZ")


def _root_of(name: str) -> str:
    while ISSUERS[name][0] is not None:
        name = ISSUERS[name][0]
    return name


def _subject_value(text: str) -> str:
    """Escapes what `openssl req -subj` treats specially."""
    return re.sub(r"([/+\\])", r"\\\1", text)


class LabPki:
    def __init__(self, directory: pathlib.Path, lab_id: str):
        self.dir = pathlib.Path(directory)
        self.lab_id = lab_id
        self.root_cert = self.dir / "root.pem"
        self.root_key = self.dir / "root.key"
        self.intermediate_cert = self.dir / "intermediate.pem"
        self.intermediate_key = self.dir / "intermediate.key"
        self.trust_bundle = self.dir / "trusted-roots.pem"
        self.crl_der = self.dir / "intermediate.crl"
        self.dh_1024 = self.dir / "dh1024.pem"
        self._config = self.dir / "ca.cnf"
        self._made: set[str] = set()

    # --- paths ------------------------------------------------------------------------

    def issuer_cert(self, name: str) -> pathlib.Path:
        return self.dir / f"{name}.pem"

    def issuer_key(self, name: str) -> pathlib.Path:
        return self.dir / f"{name}.key"

    def leaf_cert(self, site: plan.Site) -> pathlib.Path:
        return self.dir / f"{site.slug}.pem"

    def leaf_key(self, site: plan.Site) -> pathlib.Path:
        return self.dir / f"{site.slug}.key"

    def served_chain(self, site: plan.Site) -> pathlib.Path:
        """What the server sends: the leaf, then LeafProfile.chain."""
        return self.dir / f"{site.slug}.chain.pem"

    def ocsp_response(self, site: plan.Site) -> pathlib.Path:
        return self.dir / f"{site.slug}.ocsp.der"

    # --- generation -------------------------------------------------------------------

    def generate(self, sites=None) -> None:
        sites = plan.core_sites() if sites is None else sites
        (self.dir / "issued").mkdir(parents=True, exist_ok=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("01\n")  # required by the config; -rand_serial is used
        (self.dir / "crlnumber").write_text("01\n")
        self._config.write_text(_CA_CONFIG.format(dir=self.dir))
        self._issuer("intermediate")
        with_leaf = [s for s in sites if s.upstream.has_leaf]
        for s in with_leaf:
            self._leaf(s)
        for s in with_leaf:
            if s.leaf.revoked:
                _openssl("ca", "-config", str(self._config), "-revoke", str(self.leaf_cert(s)),
                         "-cert", str(self.intermediate_cert), "-keyfile",
                         str(self.intermediate_key), "-crl_reason", "keyCompromise")
        if any(s.upstream.kind == "crl" for s in sites):
            self._crl()
        for s in with_leaf:
            if s.leaf.staple:
                self._ocsp_response(s)
        if any(s.upstream.dh_1024 for s in sites):
            _openssl("dhparam", "-dsaparam", "-out", str(self.dh_1024), "1024")
        self.trust_bundle.write_text("".join(
            self.issuer_cert(r).read_text() for r in TRUSTED_ROOTS if r in self._made))

    def _issuer(self, name: str) -> None:
        if name in self._made:
            return
        parent, key_type, digest, cn = ISSUERS[name]
        if parent is not None:
            self._issuer(parent)
        self._new_key(self.issuer_key(name), key_type)
        subject = f"/O=Lab Test {self.lab_id}/CN={cn}"
        if parent is None:
            self._sign(subject=subject, key=self.issuer_key(name), out=self.issuer_cert(name),
                       extensions="ext_root", days=(-400, 3650), digest=digest, self_signed=True)
        elif name == "non_ca":
            ext = self.dir / "non_ca.ext"
            ext.write_text(self._leaf_extensions(plan.LeafProfile(), (cn,), self_signed=False))
            self._sign(subject=subject, key=self.issuer_key(name), out=self.issuer_cert(name),
                       extensions="ext_leaf", extfile=ext, days=(-30, 365), digest=digest,
                       issuer=parent)
        else:
            self._sign(subject=subject, key=self.issuer_key(name), out=self.issuer_cert(name),
                       extensions="ext_intermediate", days=(-400, 1825), digest=digest,
                       issuer=parent)
        self._made.add(name)

    def chain_above(self, issuer: str) -> list[pathlib.Path]:
        """Certificates from `issuer` up to, not including, its root."""
        chain = []
        while ISSUERS[issuer][0] is not None:
            chain.append(self.issuer_cert(issuer))
            issuer = ISSUERS[issuer][0]
        return chain

    def _leaf(self, site: plan.Site) -> None:
        p = site.leaf
        self_signed = p.issuer == "self"
        if not self_signed:
            self._issuer(p.issuer)
        ext = self.dir / f"{site.slug}.ext"
        ext.write_text(self._leaf_extensions(p, site.san, self_signed, site))
        self._new_key(self.leaf_key(site), p.key)
        subject = f"/O={_subject_value(p.organization)}/CN={site.name}"
        self._sign(subject=subject, key=self.leaf_key(site), out=self.leaf_cert(site),
                   extensions="ext_leaf", extfile=ext, digest=p.digest,
                   days=(p.not_before_days, p.not_after_days),
                   issuer=None if self_signed else p.issuer, self_signed=self_signed)
        if p.corrupt_signature:
            self._flip_signature_bit(self.leaf_cert(site))
        self.served_chain(site).write_text(
            "".join(c.read_text() for c in [self.leaf_cert(site), *self._sent_after_leaf(p)]))

    def reissue_leaf(self, site: plan.Site) -> None:
        """A new key and certificate with the same profile (the upstream changed
        its certificate); the server must reload to serve it."""
        self._leaf(site)

    def _sent_after_leaf(self, p: plan.LeafProfile) -> list[pathlib.Path]:
        if p.issuer == "self" or p.chain == "leaf_only":
            return []
        chain = self.chain_above(p.issuer)
        root = self.issuer_cert(_root_of(p.issuer))
        if p.chain == "with_root":
            return chain + [root]
        if p.chain == "reversed_extra":
            self._issuer("other")
            return [root, self.issuer_cert("other"), *reversed(chain)]
        if p.chain == "cross_to_lab_root":
            return chain + [self.cross_certificate(_root_of(p.issuer))]
        return chain

    def cross_certificate(self, root: str) -> pathlib.Path:
        """`root`'s name and key certified by the lab root: a chain through it
        ends at the lab root, which the gateway trusts."""
        out = self.dir / f"{root}.cross.pem"
        if not out.exists():
            self._issuer("root")
            subject = f"/O=Lab Test {self.lab_id}/CN={ISSUERS[root][3]}"
            self._sign(subject=subject, key=self.issuer_key(root), out=out,
                       extensions="ext_root", days=(-30, 365), issuer="root")
        return out

    def _leaf_extensions(self, p: plan.LeafProfile, names, self_signed: bool,
                         site: plan.Site | None = None) -> str:
        lines = ["[ext_leaf]", f"basicConstraints = {p.basic_constraints}",
                 f"keyUsage = {p.key_usage}", "subjectKeyIdentifier = hash"]
        if p.ext_key_usage:
            lines.append(f"extendedKeyUsage = {p.ext_key_usage}")
        if not self_signed:
            lines.append("authorityKeyIdentifier = keyid:always")
        sans = [f"DNS:{n}" for n in names]
        if p.ip_san and site is not None:
            sans += [f"IP:{plan.site_v4(site.name)}", f"IP:{plan.site_v6(site.name)}"]
        if sans:
            lines.append("subjectAltName = " + ",".join(sans))
        if p.policies:
            lines.append(f"certificatePolicies = {p.policies}")
        if p.must_staple:
            lines.append("tlsfeature = status_request")
        if p.crl_dp and site is not None:
            host = plan.site_v4("crl.lab.test" if p.crl_dp == "lab" else site.name)
            lines.append(f"crlDistributionPoints = URI:http://{host}{CRL_PATH}")
            # Revocation by OCSP goes to the same place: nothing answers there.
            lines.append(f"authorityInfoAccess = OCSP;URI:http://{host}/ocsp")
        return "\n".join(lines) + "\n"

    def _crl(self) -> None:
        pem = self.dir / "intermediate.crl.pem"
        _openssl("ca", "-config", str(self._config), "-gencrl", "-crldays", "7",
                 "-cert", str(self.intermediate_cert), "-keyfile", str(self.intermediate_key),
                 "-crlexts", "ext_crl", "-out", str(pem))
        _openssl("crl", "-in", str(pem), "-outform", "DER", "-out", str(self.crl_der))

    def _ocsp_response(self, site: plan.Site) -> None:
        request = self.dir / f"{site.slug}.ocsp-request.der"
        _openssl("ocsp", "-issuer", str(self.intermediate_cert), "-cert",
                 str(self.leaf_cert(site)), "-no_nonce", "-reqout", str(request))
        _openssl("ocsp", "-index", str(self.dir / "index.txt"), "-CA",
                 str(self.intermediate_cert), "-rsigner", str(self.intermediate_cert),
                 "-rkey", str(self.intermediate_key), "-reqin", str(request), "-ndays", "7",
                 "-respout", str(self.ocsp_response(site)))
        request.unlink()

    def _new_key(self, path: pathlib.Path, key_type: str) -> None:
        if key_type == "ec":
            _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-out", str(path))
        else:
            bits = key_type.removeprefix("rsa")
            _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}",
                     "-out", str(path))
        path.chmod(0o600)

    def _sign(self, *, subject, key, out, extensions, days, digest="sha256", issuer=None,
              extfile=None, self_signed=False) -> None:
        csr = out.with_suffix(".csr")
        _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
        args = ["ca", "-batch", "-notext", "-rand_serial", "-config", str(self._config),
                "-in", str(csr), "-out", str(out), "-extensions", extensions, "-md", digest,
                "-startdate", _asn1_time(days[0]), "-enddate", _asn1_time(days[1])]
        if extfile is not None:
            args += ["-extfile", str(extfile)]
        if self_signed:
            args += ["-selfsign", "-keyfile", str(key)]
        else:
            args += ["-cert", str(self.issuer_cert(issuer)), "-keyfile",
                     str(self.issuer_key(issuer))]
        _openssl(*args)
        csr.unlink()

    @staticmethod
    def _flip_signature_bit(path: pathlib.Path) -> None:
        """Flips the last bit of the DER: it lies in the signature BIT STRING's
        value (ECDSA: the end of s), so the certificate still parses."""
        der = bytearray(base64.b64decode("".join(path.read_text().strip().splitlines()[1:-1])))
        der[-1] ^= 0x01
        body = base64.encodebytes(bytes(der)).decode().replace("\n", "")
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        path.write_text("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines)
                        + "\n-----END CERTIFICATE-----\n")
