"""Security battery cases 1-18: upstream certificate validation and the
forged leaf, under the default policy (untrusted_server_cert = block), one
lab for the class. Revocation with soft/hard fail has its own class (it
needs its own gateway configurations)."""

import datetime
import unittest

import lab_sites as plan
from lab_battery import BatteryTestCase, FAST_TIMEOUTS, describe_handshake
from lab_probe import cert_details, critical

# Rows of cases 1-18, without those whose leaf has a CRL distribution point
# (BatteryRevocationTest: the gateway's revocation setting matters there).
CERT_SITES = tuple(s.name for s in plan.BATTERY_SITES
                   if 1 <= plan.case_number(s) <= 18
                   and not s.leaf.crl_dp and s.upstream.kind != "crl")


class BatteryCertsTest(BatteryTestCase):
    SITE_NAMES = CERT_SITES

    def test_01_valid_chain(self):
        self.check_passes("1", "c01-valid.lab.test")

    def test_02_expired(self):
        self.check_blocked("2", "c02-expired.lab.test")
        name = "c02-expired.lab.test"
        with self.subTest(case="2-alpn"), self.battery_case("2-alpn") as rec:
            before = self.upstream_requests(name)
            hs = self.chain(name, options=["-alpn", "imap"])
            rec.note(describe_handshake(hs))
            rec.note(f"upstream requests +{self.upstream_requests(name) - before}")
            self.assertFalse(hs.completed, "a non-HTTP client must get an alert, not a page: "
                             + hs.describe())
            self.assertIsNotNone(hs.alert, "expected a TLS alert: " + hs.describe())
            self.assert_no_upstream_request(name, before)

    def test_03_not_yet_valid(self):
        self.check_blocked("3", "c03-not-yet-valid.lab.test")

    def test_04_hostname_mismatch(self):
        self.check_blocked("4", "c04-mismatch.lab.test")

    def test_05_self_signed(self):
        self.check_blocked("5", "c05-self-signed.lab.test")

    def test_06_unknown_root(self):
        self.check_blocked("6a", "c06-unknown-root.lab.test")
        self.check_blocked("6b", "c06-unknown-root-sent.lab.test")

    def test_07_corrupted_signature(self):
        self.check_blocked("7", "c07-bad-signature.lab.test")

    def test_08_non_ca_issuer(self):
        self.check_blocked("8", "c08-non-ca-issuer.lab.test")

    def test_09_key_usage(self):
        self.check_blocked("9a", "c09-eku-client.lab.test")
        self.check_blocked("9b", "c09-ku-certsign.lab.test")

    def test_10_weak_signatures(self):
        self.check_blocked("10a", "c10-md5-leaf.lab.test")
        self.check_blocked("10b", "c10-sha1-leaf.lab.test")
        self.check_blocked("10c", "c10-md5-intermediate.lab.test")
        self.check_blocked("10d", "c10-sha1-intermediate.lab.test")

    def test_11_weak_keys(self):
        self.check_blocked("11a", "c11-rsa512.lab.test")
        self.check_blocked("11b", "c11-rsa1024.lab.test")
        self.check_blocked("11c", "c11-rsa1024-intermediate.lab.test")

    def test_12_stapled_ocsp(self):
        self.check_blocked("12b", "c12-ocsp-revoked.lab.test")
        self.check_passes("12e", "c12-ocsp-good.lab.test")

    def test_12_must_staple(self):
        # Firefox refuses a must-staple leaf served without a staple; so does the gateway.
        self.check_blocked("12f", "c12-must-staple.lab.test")
        self.check_passes("12g", "c12-must-staple-good.lab.test")

    def test_13_cn_only(self):
        self.check_blocked("13", "c13-cn-only.lab.test")

    def test_14_wildcards(self):
        self.check_blocked("14a", "a.c14-wildcard.lab.test")
        self.check_blocked("14b", "c14-tld.test")
        self.check_blocked("14c", "f14-partial.lab.test")
        self.check_passes("14d", "c14-wildcard-ok.lab.test")

    def test_15_leaf_only(self):
        self.check_blocked("15", "c15-leaf-only.lab.test")

    def test_16_reversed_chain(self):
        self.check_passes("16", "c16-reversed-chain.lab.test")

    def test_17_many_sans(self):
        self.check_passes("17a", "c17-1000-sans.lab.test", max_seconds=5.0)
        self.check_blocked("17b", "c17-10000-sans.lab.test")
        with self.subTest(after="17b"):
            self.assertTrue(self.gateway.running(), "tlsgated died on 10000 SANs\n"
                            + self.gateway.log_tail())
            self.assert_body(self.fetch("c01-valid.lab.test"), "c01-valid.lab.test")

    def test_18_forged_leaf_fields(self):
        name = "c18-forged-fields.lab.test"
        with self.subTest(case="18"), self.battery_case("18") as rec:
            upstream = cert_details(self.upstream_leaf(name).pem)
            hs = self.chain(name)
            rec.note(describe_handshake(hs))
            self.assert_gateway_leaf(hs, name)
            forged = cert_details(hs.chain[0].pem)
            other = self.chain("c01-valid.lab.test")
            self.assertTrue(other.completed, other.describe())
            other_forged = cert_details(other.chain[0].pem)
            rec.note(f"forged: {forged.basic_constraints}; KU {forged.key_usage}; EKU "
                     f"{forged.ext_key_usage}; SAN {forged.dns_names}; "
                     f"{forged.not_before:%Y-%m-%d}..{forged.not_after:%Y-%m-%d} (upstream "
                     f"..{upstream.not_after:%Y-%m-%d}); {forged.signature_algorithm}; "
                     f"{forged.public_key}; serial {len(forged.serial_hex) * 4} bits")
            self.assertEqual(forged.basic_constraints, "CA:FALSE", forged.text)
            self.assertEqual(forged.ext_key_usage, "TLS Web Server Authentication",
                             forged.text)
            self.assertIn("Digital Signature", forged.key_usage)
            self.assertNotIn("Certificate Sign", forged.key_usage)
            self.assertNotIn("CRL Sign", forged.key_usage)
            self.assertTrue(critical(forged.text, "Key Usage"), "keyUsage must be critical")
            self.assertIn(name, forged.dns_names)
            self.assertLessEqual(set(forged.dns_names), set(upstream.dns_names),
                                 "forged SANs must come from the validated certificate")
            self.assertEqual(forged.ip_addresses, [])
            self.assertGreaterEqual(forged.not_before, upstream.not_before)
            self.assertLessEqual(forged.not_after, upstream.not_after)
            self.assertLessEqual(forged.not_after - forged.not_before,
                                 datetime.timedelta(days=398), "forged validity must be short")
            self.assertRegex(forged.signature_algorithm.lower(), r"sha(256|384|512)")
            kind, bits = forged.public_key.split()
            self.assertGreaterEqual(int(bits), 256 if kind == "id-ecPublicKey" else 2048)
            self.assertGreaterEqual(len(forged.serial_hex.lstrip("0")) * 4, 64,
                                    "serial must carry at least 64 random bits")
            self.assertNotEqual(forged.serial_hex, upstream.serial_hex)
            self.assertNotEqual(forged.serial_hex, other_forged.serial_hex)


class BatteryRevocationTest(BatteryTestCase):
    """Case 12 with revocation fetching: CRL distribution points served by the
    lab (revoked, good) and unreachable, under soft_fail then hard_fail."""

    SITE_NAMES = ("c12-crl-revoked.lab.test", "c12-crl-unreachable.lab.test",
                  "c12-crl-good.lab.test", "c01-valid.lab.test")
    SETTINGS = {"gateway": FAST_TIMEOUTS, "upstream": {"revocation": "soft_fail"}}

    def check_soft_fail_logged(self, case_id: str, name: str):
        with self.subTest(case=case_id), self.battery_case(case_id) as rec:
            mark = self.mark()
            self.check_passes_inline(rec, name)
            # The site's name contains "crl": look at everything but the addressing.
            related = [e for e in self.events_after(mark) if e.get("sni") == name and any(
                w in str({k: v for k, v in e.items() if k not in ("sni", "server", "client")})
                .lower() for w in ("revocation", "revoked", "crl", "ocsp"))]
            rec.note(f"{len(related)} events about revocation: " + "; ".join(
                f"{e.get('type')} class={e.get('class')} action={e.get('action')}"
                for e in related[:3]))
            self.assertTrue(related, "soft_fail must still log the unavailable revocation "
                            "information\n" + self.lab.diagnostics())

    def check_passes_inline(self, rec, name: str) -> None:
        before = self.upstream_requests(name)
        f = self.fetch(name)
        hs = self.chain(name)
        rec.note(f"h2: {f.short()}")
        rec.note(describe_handshake(hs))
        self.assert_body(f, name)
        self.assert_gateway_leaf(hs, name)
        self.assertEqual(self.upstream_requests(name) - before, 1)

    def test_12_revocation_soft_fail(self):
        self.check_blocked("12a", "c12-crl-revoked.lab.test")
        self.check_passes("12d", "c12-crl-good.lab.test")
        self.check_soft_fail_logged("12c-soft", "c12-crl-unreachable.lab.test")

    def test_12_revocation_hard_fail(self):
        status = self.lab.restart_gateway(
            {"gateway": FAST_TIMEOUTS, "upstream": {"revocation": "hard_fail"}})
        self.assertEqual(status, 0, self.gateway.log_tail())
        try:
            name = "c12-crl-unreachable.lab.test"
            with self.subTest(case="12c-hard"), self.battery_case("12c-hard") as rec:
                before = self.upstream_requests(name)
                mark = self.mark()
                f = self.fetch(name)
                tls = self.wait_event("tls", name, mark)
                flow = self.wait_event("flow", name, mark)
                rec.note(f"h2: {f.short()}")
                rec.note(f"upstream requests +{self.upstream_requests(name) - before}")
                rec.note(f"tls class={tls and tls.get('class')} action="
                         f"{tls and tls.get('action')}; flow {flow and flow.get('action')}")
                self.assert_block_page(f, name, None, "2")
                self.assert_no_upstream_request(name, before)
                self.assertIsNotNone(tls, "hard_fail must log a tls event")
                self.assertEqual(tls.get("action"), "block", tls)
                self.assertEqual(tls.get("class"), "revocation_unknown", tls)
                self.assertEqual(flow and flow.get("action"), "block", flow)
            self.check_passes("12d", "c12-crl-good.lab.test")
        finally:
            # Later tests in this class expect the soft_fail gateway.
            self.lab.restart_gateway(self.SETTINGS)


if __name__ == "__main__":
    unittest.main()
