"""Threat lists (DESIGN.md §4a) in the lab: a listed SNI is blocked at
classification, before any upstream connection (the alert, or the page naming
the list), also when a name bypass rule covers it (the kernel is then not
given that name); `tlsgatectl threats`, metrics and `threat` events; a reload
with a changed list applies to new flows without dropping the flows in
progress; a list file that cannot be read refuses the reload.
"""

import unittest

from lab_case import LabTestCase
from lab_service import Ctl, HeldConnection, scrape

GOOD = "good.lab.test"
OTHER = "mixed.lab.test"
BYPASSED = "bypass.lab.test"  # LAB_RULES bypasses it by name


class ThreatListTest(LabTestCase):
    def start(self, lines, settings=None):
        self.list_file = self.lab.gateway.dir / "malware.txt"
        self.list_file.parent.mkdir(parents=True, exist_ok=True)
        self.write_list(lines)
        gateway = self.lab.start_gateway(
            settings=settings,
            threat_lists=[{"name": "malware", "file": str(self.list_file), "format": "domains"}])
        self.ctl = Ctl(gateway)
        return gateway

    def write_list(self, lines):
        self.list_file.write_text("\n".join(lines) + "\n")

    def threat_event(self, gateway, sni):
        event = gateway.wait_event(lambda e: e.get("type") == "threat" and e.get("sni") == sni)
        self.assertIsNotNone(event, f"no threat event for {sni}\n" + self.lab.diagnostics())
        return event

    def test_listed_sni_is_blocked_before_any_upstream_connection(self):
        gateway = self.start(["# lab malware", "lab-parent.invalid", "bad..entry",
                              GOOD, BYPASSED], settings={"policy": {"block_response": "page"}})
        for http1 in (False, True):
            with self.subTest(http1=http1):
                result = self.curl(GOOD, 4, gateway.root_ca, http1=http1)
                self.assertEqual(result.http_code, "403", result.describe())
                self.assertIn("threat list <strong>malware</strong>", result.body)
        hs = self.handshake(GOOD, 4)
        self.assertTrue(hs.completed, hs.describe())
        self.assertTrue(hs.chain[0].issuer_cn.startswith("tlsgate"), hs.chain[0].issuer)
        self.assert_access_log_empty(GOOD)

        event = self.threat_event(gateway, GOOD)
        self.assertEqual((event["stage"], event["list"], event["entry"], event["format"]),
                         ("sni", "malware", GOOD, "domains"), event)
        flow = gateway.wait_event(lambda e: e.get("type") == "flow" and e.get("sni") == GOOD
                                  and e.get("action") == "block")
        self.assertIsNotNone(flow, self.lab.diagnostics())
        self.assertEqual((flow["rule"], flow["reason"]), ("list:malware", "threat:malware"), flow)

        # A name bypass rule does not let a listed name through, and the
        # kernel is never handed that name.
        result = self.curl(BYPASSED, 4, gateway.root_ca)
        self.assertEqual(result.http_code, "403", result.describe())
        self.assert_access_log_empty(BYPASSED)
        self.assertIn(f"{BYPASSED} is decided in userspace: threat list 'malware'",
                      gateway.log_tail(50000))
        # Names not listed are untouched.
        self.assert_body(self.curl(OTHER, 4, gateway.root_ca), OTHER)

        lists = self.ctl.json("threats")["lists"]
        self.assertEqual(len(lists), 1, lists)
        self.assertEqual((lists[0]["name"], lists[0]["entries"], lists[0]["malformed"]),
                         ("malware", 3, 1), lists)
        self.assertEqual(lists[0]["malformed_lines"][0]["line"], 3, lists)
        self.assertGreaterEqual(lists[0]["sni_hits"], 4, lists)
        text = self.ctl.run("threats").stdout
        self.assertIn("malware", text)
        self.assertIn(f"{self.list_file}:3: 'bad..entry' has an empty label", text)
        _, samples = scrape(gateway)
        self.assertGreaterEqual(
            samples['tlsgate_threat_list_hits_total{list="malware",stage="sni"}'], 4)
        self.assertEqual(samples['tlsgate_threat_list_entries{list="malware"}'], 3)

    def test_reload_with_a_changed_list_keeps_flows_in_progress(self):
        gateway = self.start(["lab-parent.invalid"])
        self.assert_body(self.curl(GOOD, 4, gateway.root_ca), GOOD)
        held = HeldConnection(self.lab.topology, OTHER)
        self.addCleanup(held.close)
        self.assertEqual(held.get(), f"site={OTHER}\n")

        self.write_list(["lab-parent.invalid", GOOD])
        self.ctl.run("reload")
        result = self.curl(GOOD, 4, gateway.root_ca)
        self.assertEqual(result.exit_code, 35, result.describe())  # access_denied alert
        self.threat_event(gateway, GOOD)
        self.assertEqual(held.get(), f"site={OTHER}\n", "the reload dropped a flow")

        # A list that cannot be read: the reload is refused, the lists stay.
        self.list_file.rename(self.list_file.with_suffix(".moved"))
        refused = self.ctl.run("reload", check=False)
        self.assertNotEqual(refused.returncode, 0, refused.stdout)
        self.assertIn(str(self.list_file), refused.stderr + refused.stdout)
        self.assertEqual(self.curl(GOOD, 4, gateway.root_ca).exit_code, 35)
        self.assertEqual(self.ctl.json("threats")["lists"][0]["entries"], 2)

        self.list_file.with_suffix(".moved").rename(self.list_file)
        self.write_list(["lab-parent.invalid"])
        self.ctl.run("reload")
        self.assert_body(self.curl(GOOD, 4, gateway.root_ca), GOOD)
        self.assertEqual(held.get(), f"site={OTHER}\n", "the reload dropped a flow")
        self.assertGreaterEqual(self.ctl.json("threats")["lists"][0]["sni_hits"], 2)


if __name__ == "__main__":
    unittest.main()
