"""Lab cases 2-6: tlsgated in the router namespace, end to end.

Each test brings up its own lab and gateway (LAB_RULES: bypass.lab.test
bypassed, blocked.lab.test blocked, everything else inspected).
"""

import unittest

import lab_sites as plan
from lab_case import LabTestCase, fingerprint, server_matches
from lab_probe import cert_file, verify_chain

GATEWAY_ISSUER_PREFIX = "tlsgate"


class GatewayTest(LabTestCase):
    def setUp(self):
        super().setUp()
        self.gateway = self.lab.start_gateway()

    def flow_event(self, site: str, family: int, action: str) -> dict:
        address = plan.site_address(site, family)
        event = self.gateway.wait_event(
            lambda e: e.get("type") == "flow" and e.get("sni") == site
            and server_matches(e.get("server"), address) and e.get("action") == action)
        self.assertIsNotNone(event, f"no flow event action={action} for {site} at {address}\n"
                             + self.lab.diagnostics())
        return event

    def assert_inspected_handshake(self, site: str, family: int) -> None:
        hs = self.handshake(site, family)
        self.assertTrue(hs.completed, hs.describe() + "\n" + self.lab.diagnostics())
        leaf = hs.chain[0]
        self.assertTrue(leaf.issuer_cn.startswith(GATEWAY_ISSUER_PREFIX),
                        f"leaf issuer {leaf.issuer!r} is not the gateway's")
        self.assertNotEqual(leaf.sha256, cert_file(
            self.lab.pki.leaf_cert(plan.site(site))).sha256, "the nginx leaf went through")
        self.assertEqual(leaf.dns_names, [site], "forged SAN must be the site name")
        ok, detail = verify_chain(hs.chain, self.gateway.root_ca, site)
        self.assertTrue(ok, f"chain does not verify with the exported gateway root: {detail}")
        ok, _ = verify_chain(hs.chain, self.lab.pki.root_cert, site)
        self.assertFalse(ok, "a forged chain must not verify with the lab root")

    # --- 2 ----------------------------------------------------------------------------

    def test_inspected(self):
        site = "good.lab.test"
        for family in (4, 6):
            with self.subTest(family=family):
                self.assert_inspected_handshake(site, family)
                before = len(self.lab.nginx.access_lines(site))
                # Trusting only the gateway root proves the chain ends there.
                self.assert_body(self.curl(site, family, self.gateway.root_ca), site)
                self.assert_body(self.curl(site, family, self.gateway.root_ca, http1=True),
                                 site)
                self.assert_access_logged(site, before, count=2)
                event = self.flow_event(site, family, "inspect")
                self.assertEqual(event.get("rule"), "default", event)

    # --- 3 ----------------------------------------------------------------------------

    def test_bypassed(self):
        site = "bypass.lab.test"
        for family in (4, 6):
            with self.subTest(family=family):
                self.assert_lab_chain(self.handshake(site, family), site)
                before = len(self.lab.nginx.access_lines(site))
                self.assert_body(self.curl(site, family, self.lab.pki.root_cert), site)
                self.assert_access_logged(site, before)
                event = self.flow_event(site, family, "bypass")
                self.assertEqual(event.get("rule"), "bypass-bypass-site", event)

    # --- 4 ----------------------------------------------------------------------------

    def test_blocked_by_rule(self):
        site = "blocked.lab.test"
        for family in (4, 6):
            with self.subTest(family=family):
                result = self.curl(site, family, self.lab.client_bundle())
                hs = self.handshake(site, family)
                self.assert_handshake_failed(result, hs)
                self.assertIsNotNone(hs.alert, "expected a TLS alert, not a reset:\n"
                                     + hs.describe())
                event = self.flow_event(site, family, "block")
                self.assertEqual(event.get("rule"), "block-blocked-site", event)
        self.assert_access_log_empty(site)

    # --- 5 ----------------------------------------------------------------------------

    def test_expired_upstream(self):
        site = "expired.lab.test"
        expired_leaf = cert_file(self.lab.pki.leaf_cert(plan.site(site)))
        for family in (4, 6):
            with self.subTest(family=family):
                # The client's handshake completes (a leaf for the name, from the
                # gateway CA) only to serve the block page; nothing goes upstream.
                hs = self.handshake(site, family)
                self.assertTrue(hs.completed, hs.describe())
                self.assertTrue(hs.chain[0].issuer_cn.startswith(GATEWAY_ISSUER_PREFIX), hs.describe())
                self.assertEqual(hs.chain[0].dns_names, [site])
                for http1 in (False, True):
                    result = self.curl(site, family, self.gateway.root_ca, http1=http1)
                    self.assertEqual(result.http_code, "403", result.describe())
                    self.assertIn(site, result.body)
                    self.assertIn("Reason code: expired", result.body)
                flow = self.flow_event(site, family, "block")
                self.assertIn("expired", flow.get("reason", ""), flow)
        tls = self.gateway.wait_event(
            lambda e: e.get("type") == "tls" and e.get("sni") == site)
        self.assertIsNotNone(tls, "no tls event for the expired upstream\n"
                             + self.lab.diagnostics())
        self.assertEqual(tls.get("class"), "expired", tls)
        self.assertEqual(tls.get("action"), "block", tls)
        self.assertEqual(fingerprint(tls.get("fingerprint_sha256", "")), expired_leaf.sha256,
                         tls)
        self.assert_access_log_empty(site)

    # --- 6 ----------------------------------------------------------------------------

    def test_sigterm_removes_kernel_side(self):
        site = "good.lab.test"
        gw = self.gateway
        # While running: inspected, and the kernel side is there to be removed.
        self.assert_inspected_handshake(site, 4)
        self.assertTrue(gw.pin_dir.is_dir(), f"{gw.pin_dir} missing while running")
        self.assertNotEqual(gw.tc_filters(), "", "no TC filter on the LAN veth while running")
        self.assertNotEqual(gw.fwmark_rules(), [], "no fwmark rule while running")

        status = gw.terminate()
        self.assertEqual(status, 0, "tlsgated did not exit 0 on SIGTERM\n"
                         + self.lab.diagnostics())
        self.assertEqual(gw.tc_filters(), "", "TC filter left on the LAN veth")
        self.assertFalse(gw.pin_dir.exists(), f"{gw.pin_dir} left behind")
        self.assertEqual(gw.fwmark_rules(), [], "fwmark rule left behind")
        self.assertEqual(gw.policy_routes(), [], "steering routes left behind")

        for family in (4, 6):
            with self.subTest(family=family):
                self.assert_lab_chain(self.handshake(site, family), site)
                before = len(self.lab.nginx.access_lines(site))
                self.assert_body(self.curl(site, family, self.lab.pki.root_cert), site)
                self.assert_access_logged(site, before)


class BlockPageTest(LabTestCase):
    """[policy] block_response = "page": a site blocked by rule answers every
    HTTP request with a page naming the rule; nothing reaches the server."""

    def test_rule_block_answers_with_a_page_naming_the_rule(self):
        gateway = self.lab.start_gateway(settings={"policy": {"block_response": "page"}})
        site = "blocked.lab.test"
        for family in (4, 6):
            for http1 in (False, True):
                with self.subTest(family=family, http1=http1):
                    result = self.curl(site, family, gateway.root_ca, http1=http1)
                    self.assertEqual(result.http_code, "403", result.describe())
                    self.assertIn("Blocked by rule <strong>block-blocked-site</strong>",
                                  result.body)
                    self.assertIn(f"Requested: https://{site}/", result.body)
            hs = self.handshake(site, family)
            self.assertTrue(hs.completed, hs.describe())
            self.assertTrue(hs.chain[0].issuer_cn.startswith(GATEWAY_ISSUER_PREFIX))
            self.assertEqual(hs.chain[0].dns_names, [site])
        event = gateway.wait_event(lambda e: e.get("type") == "flow" and e.get("sni") == site
                                   and e.get("action") == "block" and e.get("rule")
                                   == "block-blocked-site" and e.get("reason") == "rule")
        self.assertIsNotNone(event, self.lab.diagnostics())
        self.assert_access_log_empty(site)
        # Inspected sites are untouched by the setting.
        self.assert_body(self.curl("good.lab.test", 4, gateway.root_ca), "good.lab.test")


if __name__ == "__main__":
    unittest.main()
