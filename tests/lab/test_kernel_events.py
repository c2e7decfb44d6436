"""Flows the kernel decides alone still get a `flow` event (DESIGN.md §7):
the TC program writes a record to its `decisions` ring, tlsgated turns it
into a flow event with "decided_by": "kernel".

- A flow to a server bypassed by destination (an LPM entry): action bypass,
  the rule that put the prefix there, reason kernel:dst_bypass.
- A flow to a learned bypass-only address whose ClientHello names another
  server (an evasion attempt): reset by the kernel, action block, reason
  kernel:sni_mismatch, with the SNI that was checked.
"""

import time
import unittest

import lab_kernel as k
import lab_sites as plan
from lab_case import LabTestCase, server_matches

DST_SITE = "good.lab.test"
SITE = "mixed.lab.test"
BYPASSED = "mixed-bypass.lab.test"
INSPECTED = "mixed.lab.test"
RULES = (
    {"name": "bypass-good-dst", "action": "bypass",
     "dst": [f"{plan.site_address(DST_SITE, 4)}/32", f"{plan.site_address(DST_SITE, 6)}/128"]},
    {"name": "bypass-mixed", "action": "bypass", "sni": [BYPASSED]},
)


class KernelEventsTest(LabTestCase):
    def setUp(self):
        super().setUp()
        self.gateway = self.lab.start_gateway(rules=RULES)

    def client(self, address: str, sni: str) -> dict:
        return k.peer_client(self.lab.topology, address, 443, sni, self.lab.client_bundle())

    def kernel_event(self, address: str, **fields) -> dict:
        def wanted(e: dict) -> bool:
            return (e.get("type") == "flow" and e.get("decided_by") == "kernel"
                    and server_matches(e.get("server"), address)
                    and all(e.get(key) == value for key, value in fields.items()))
        event = self.gateway.wait_event(wanted)
        self.assertIsNotNone(event, f"no kernel flow event {fields} for {address}\n"
                             + self.lab.diagnostics())
        return event

    def test_destination_bypass_and_sni_mismatch_are_flow_events(self):
        for family in (4, 6):
            with self.subTest(family=family):
                self.destination_bypass(family)
                self.sni_mismatch(family)

    def destination_bypass(self, family: int):
        address = plan.site_address(DST_SITE, family)
        result = self.client(address, DST_SITE)
        self.assertTrue(result["ok"], result)
        event = self.kernel_event(address, reason="kernel:dst_bypass")
        self.assertEqual(event["action"], "bypass", event)
        self.assertEqual(event["rule"], "bypass-good-dst", event)
        self.assertTrue(
            event["client"].startswith(k.bracket(plan.client_address(family)) + ":"), event)
        self.assertNotIn("sni", event, "the SYN carries no name")
        # The terminator never saw it: no other flow event for that server.
        others = [e for e in self.gateway.events()
                  if e.get("type") == "flow" and server_matches(e.get("server"), address)
                  and e.get("decided_by") != "kernel"]
        self.assertEqual(others, [], "the terminator reported the kernel-bypassed flow")

    def sni_mismatch(self, family: int):
        address = plan.site_address(SITE, family)
        # Steered once: the address is learned bypass-only.
        first = self.client(address, BYPASSED)
        self.assertTrue(first["ok"], first)
        deadline = time.monotonic() + 5
        while k.learned_verdict(self.gateway.pin_dir, address, 443) != "bypass_only":
            if time.monotonic() > deadline:
                self.fail("the address was not learned bypass-only\n" + self.lab.diagnostics())
            time.sleep(0.05)
        # The kernel checks the name and forwards: a kernel bypass event with the rule.
        verified = self.client(address, BYPASSED)
        self.assertTrue(verified["ok"], verified)
        passed = self.kernel_event(address, reason="kernel:sni_verified", sni=BYPASSED)
        self.assertEqual((passed["action"], passed["rule"]), ("bypass", "bypass-mixed"), passed)
        # Another name on that address: reset by the kernel, reported as a block.
        mismatch = self.client(address, INSPECTED)
        self.assertFalse(mismatch["ok"], mismatch)
        event = self.kernel_event(address, reason="kernel:sni_mismatch")
        self.assertEqual(event["action"], "block", event)
        self.assertEqual(event["sni"], INSPECTED, event)
        self.assertEqual(event["rule"], "kernel", event)


if __name__ == "__main__":
    unittest.main()
