"""Battery case 0: without a gateway, every battery upstream really serves
its defect to a client that looks for it, so no gateway result can be a
false pass caused by a broken lab (an "expired" site that is not expired,
an "RC4-only" server that also speaks AES-GCM)."""

import pathlib
import re
import tempfile
import unittest

import lab_sites as plan
from lab_battery import BatteryTestCase
from lab_probe import cert_details, cert_file, handshake, run

# error_class -> what `openssl s_client` (verification at level 2, hostname
# checked) reports for the served chain.
VERIFY_ERRORS = {
    "expired": "certificate has expired",
    "not_yet_valid": "certificate is not yet valid",
    "hostname_mismatch": "hostname mismatch",
    "self_signed": "self-signed certificate",
    "untrusted_root": "(unable to get local issuer certificate|self-signed certificate in "
                      "certificate chain)",
    "invalid_signature": "certificate signature failure",
    "not_a_ca": "invalid CA certificate",
    "bad_usage": "unsuitable certificate purpose",
    "weak_signature": "digest algorithm too weak",
    "weak_key": "key too weak",
    "incomplete_chain": "unable to get local issuer certificate",
}

# Protocol defects: (s_client options that must work, proof in the output).
# The gateway's own offer (TLS 1.2-1.3, ECDHE + AEAD) must fail against each.
OPENSSL_PROTOCOL = {
    "c21-tls10.lab.test": (["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"], r"Protocol\s*: TLSv1\n"),
    "c21-tls11.lab.test": (["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
                           r"Protocol\s*: TLSv1\.1"),
    "c22-null.lab.test": (["-tls1_2", "-cipher", "NULL-SHA256:NULL-SHA:@SECLEVEL=0"],
                          r"Cipher is NULL-SHA"),
    "c22-static-rsa-cbc.lab.test": (["-tls1_2", "-cipher", "AES128-SHA:AES256-SHA256:"
                                     "@SECLEVEL=0"], r"Cipher is AES(128-SHA|256-SHA256)"),
    "c23-dhe-1024.lab.test": (["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"],
                              r"Server Temp Key: DH, 1024 bits"),
}
GNUTLS_PROTOCOL = {
    "c22-rc4.lab.test": ("NORMAL:+ARCFOUR-128", r"\(ARCFOUR-128\)"),
    "c22-3des.lab.test": ("NORMAL:+3DES-CBC", r"\(3DES-CBC\)"),
}
# What the gateway offers upstream, as s_client options.
GATEWAY_LIKE = ["-cipher", "ECDHE+AESGCM:ECDHE+CHACHA20", "-min_protocol", "TLSv1.2"]


class BatteryUpstreamsTest(BatteryTestCase):
    SITE_NAMES = tuple(s.name for s in plan.BATTERY_SITES)
    START_GATEWAY = False

    def direct(self, name: str, options=()):
        return handshake(self.lab.topology, plan.site_v4(name), name, options=[
            "-CAfile", str(self.lab.pki.trust_bundle), "-verify_hostname", name,
            "-auth_level", "2", *options])

    def check_certificate_defect(self, s: plan.Site) -> str:
        hs = self.direct(s.name)
        if s.leaf.extra_sans > 5000:
            self.assertIn("excessive message size", hs.output, hs.describe())
            return "an OpenSSL client refuses it: excessive message size"
        served = hs.chain[0] if hs.chain else None
        self.assertEqual(served and served.sha256, cert_file(self.lab.pki.leaf_cert(s)).sha256,
                         f"{s.name}: not the lab's leaf: {hs.describe()}")
        # The first error met (s_client's return code is the last one).
        first = re.search(r"verify error:num=\d+:(.*)", hs.output)
        text = first.group(1).strip() if first else "ok"
        must_staple = ""
        if s.leaf.must_staple:
            features = run(["openssl", "x509", "-noout", "-ext", "tlsfeature"],
                           input_text=served.pem).stdout
            self.assertIn("status_request", features, features)
            must_staple = "must-staple leaf, "
        if s.leaf.staple:
            # A separate handshake: -status prints the responder's certificate too.
            stapled = self.direct(s.name, ["-status"])
            status = re.search(r"Cert Status: (\w+)", stapled.output)
            self.assertEqual(status and status.group(1), s.leaf.staple, stapled.output[-800:])
            return f"{must_staple}staple {status.group(1)}"
        if s.leaf.must_staple:
            stapled = self.direct(s.name, ["-status"])
            self.assertIn("OCSP response: no response sent", stapled.output,
                          stapled.output[-800:])
            self.assertEqual(text, "ok", f"{s.name}: {hs.output[-800:]}")
            return f"{must_staple}no staple sent; verify: {text}"
        if s.leaf.ip_san:
            ips = cert_details(served.pem).ip_addresses
            self.assertIn(plan.site_v4(s.name), ips)
            return f"IP SANs {ips}, no DNS SAN"
        if s.leaf.dns_names == ():
            self.assertEqual(served.dns_names, [])
            return "no SAN (OpenSSL's CN fallback accepts it; the gateway must not)"
        if s.leaf.dns_names and s.leaf.dns_names[0].startswith("f*"):
            self.assertEqual(served.dns_names, ["f*.lab.test"])
            return "SAN f*.lab.test (OpenSSL's default allows partial wildcards)"
        if s.upstream.verify_client:
            self.assertIn("Acceptable client certificate CA names", hs.output)
            return "the server requests a client certificate"
        if s.leaf.chain == "cross_to_lab_root":
            self.assertEqual(text, "ok", f"{s.name}: {hs.output[-800:]}")
            return ("verify: ok, through the lab root's cross-certificate of the gateway root "
                    "(only the gateway must refuse it)")
        if s.error_class in VERIFY_ERRORS and s.case != "34a":
            self.assertRegex(text, VERIFY_ERRORS[s.error_class], hs.output[-800:])
        else:
            self.assertEqual(text, "ok", f"{s.name}: {hs.output[-800:]}")
        return f"verify: {text}"

    def check_protocol_defect(self, s: plan.Site) -> str:
        if s.name in GNUTLS_PROTOCOL:
            priority, proof = GNUTLS_PROTOCOL[s.name]
            weak = self._gnutls(s.name, priority)
            strong = self._gnutls(s.name, "NORMAL")
            self.assertRegex(weak, proof)
            self.assertNotIn("Handshake was completed", strong)
            return f"gnutls-cli {priority}: {re.search(proof, weak).group(0)}; NORMAL refused"
        options, proof = OPENSSL_PROTOCOL[s.name]
        weak = self.direct(s.name, options)
        strong = self.direct(s.name, GATEWAY_LIKE)
        self.assertRegex(weak.output, proof)
        self.assertFalse(strong.completed, f"{s.name} accepts the gateway's offer: "
                         + strong.describe())
        return f"{re.search(proof, weak.output).group(0).strip()}; modern offer refused"

    def _gnutls(self, name: str, priority: str) -> str:
        proc = self.lab.topology.run_in("client", [
            "gnutls-cli", "--insecure", "--priority", priority, "-p", "443",
            plan.site_v4(name)], check=False, input_text="", timeout=20)
        return proc.stdout + proc.stderr

    def check_other(self, s: plan.Site) -> str:
        kind = s.upstream.kind
        if kind == "crl":
            with tempfile.TemporaryDirectory() as tmp:
                crl = pathlib.Path(tmp, "lab.crl")
                self.lab.topology.run_in("client", ["curl", "-sSf", "-o", str(crl),
                                                    f"http://{plan.site_v4(s.name)}"
                                                    "/intermediate.crl"])
                revoked = cert_file(self.lab.pki.leaf_cert(plan.site(
                    "c12-crl-revoked.lab.test")))
                text = run(["openssl", "crl", "-inform", "DER", "-in", str(crl), "-noout",
                            "-text"]).stdout
                serial = run(["openssl", "x509", "-noout", "-serial"],
                             input_text=revoked.pem).stdout.split("=")[1].strip()
                self.assertIn(serial.upper(), text.replace(":", "").upper())
            return "CRL over HTTP lists the revoked leaf"
        if kind == "stall":
            out = self.lab.topology.run_in("client", [
                "curl", "-sS", "--max-time", "2", f"https://{plan.site_v4(s.name)}/", "-k"],
                check=False)
            self.assertEqual(out.returncode, 28, out.stderr)  # timeout: accepted, no answer
            return "TCP accepted, no answer (curl timeout)"
        if kind == "refused":
            out = self.lab.topology.run_in("client", [
                "curl", "-sS", "--max-time", "2", f"https://{plan.site_v4(s.name)}/"],
                check=False)
            self.assertEqual(out.returncode, 7, out.stderr)
            return "connection refused"
        if kind == "blackhole":
            out = self.lab.topology.run_in("client", [
                "curl", "-sS", "--connect-timeout", "1", f"https://{plan.site_v4(s.name)}/"],
                check=False)
            self.assertEqual(out.returncode, 28, out.stderr)
            return "no answer to SYN (connect timeout)"
        raise AssertionError(f"no direct check for {s.name}")

    def test_every_upstream(self):
        with self.subTest(case="0"), self.battery_case("0") as rec:
            failures = []
            for s in self.lab.sites:
                if s.case is None:
                    continue
                try:
                    if s.name in OPENSSL_PROTOCOL or s.name in GNUTLS_PROTOCOL:
                        what = self.check_protocol_defect(s)
                    elif s.upstream.has_leaf:
                        what = self.check_certificate_defect(s)
                    else:
                        what = self.check_other(s)
                except AssertionError as e:
                    failures.append(f"{s.name}: {str(e)[:300]}")
                    continue
                if s.error_class or s.upstream.kind != "nginx" or s.leaf != plan.LeafProfile():
                    rec.note(f"{s.case} {what}")
            self.assertEqual(failures, [])


if __name__ == "__main__":
    unittest.main()
