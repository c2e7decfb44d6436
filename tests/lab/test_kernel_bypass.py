"""The kernel decides (DESIGN.md §2): a server address that the terminator
saw only with proven bypassed names becomes bypass-only in `learned`; the
next flow there is forwarded by the kernel after it checked the SNI of the
first payload, and never reaches the terminator. A flow there with another
name is reset by the kernel, the address demoted, and the client's retry is
steered and inspected.

mixed.lab.test serves both mixed-bypass.lab.test (bypassed by rule) and
mixed.lab.test (inspected by default) on one address.

Evidence that a flow never reached the terminator: no flow event from the
terminator for it (the kernel's own decision events, "decided_by": "kernel",
are test_kernel_events.py's),
the kernel flow table's entry (state bypass, reason learned_bypass), no
socket in the router namespace with the client's port as peer while the
flow is open, and the terminator's own counters (`tlsgatectl stats`):
connections_accepted does not move.
"""

import time
import unittest

import lab_kernel as k
import lab_sites as plan
from lab_case import LabTestCase, server_matches
from lab_gateway import gateway_binaries
from lab_pki import INTERMEDIATE_CN

SITE = "mixed.lab.test"
BYPASSED = "mixed-bypass.lab.test"
INSPECTED = "mixed.lab.test"
RULES = ({"name": "bypass-mixed", "action": "bypass", "sni": [BYPASSED]},)
HELD_PORT = {4: 41001, 6: 41002}


class KernelBypassTest(LabTestCase):
    def setUp(self):
        super().setUp()
        self.gateway = self.lab.start_gateway(rules=RULES)
        _, self.ctl = gateway_binaries()

    def stats(self) -> dict:
        return k.stats(self.lab.topology, self.ctl, self.gateway.config)

    def client(self, family: int, sni: str) -> dict:
        return k.peer_client(self.lab.topology, plan.site_address(SITE, family), 443, sni,
                             self.lab.client_bundle())

    def flow_events(self, family: int, sni: str, action: str | None = None) -> list[dict]:
        """The terminator's flow events (not the kernel's own decisions)."""
        address = plan.site_address(SITE, family)
        return [e for e in self.gateway.events()
                if e.get("type") == "flow" and e.get("decided_by") != "kernel"
                and e.get("sni") == sni
                and server_matches(e.get("server"), address)
                and (action is None or e.get("action") == action)]

    def wait_flow_event(self, family: int, sni: str, action: str, count: int = 1) -> None:
        deadline = time.monotonic() + 5
        while len(self.flow_events(family, sni, action)) < count:
            if time.monotonic() > deadline:
                self.fail(f"expected {count} flow event(s) {action} {sni}\n"
                          + self.lab.diagnostics())
            time.sleep(0.05)

    def test_learned_bypass_then_mismatch(self):
        for family in (4, 6):
            with self.subTest(family=family):
                self.run_family(family)

    def run_family(self, family: int):
        address = plan.site_address(SITE, family)
        pin_dir = self.gateway.pin_dir

        # 1. Steered: the terminator probes the name at this address, bypasses,
        #    and teaches the kernel that the address is bypass-only.
        first = self.client(family, BYPASSED)
        self.assertTrue(first["ok"], first)
        self.assertEqual(first["issuer_cn"], INTERMEDIATE_CN, "a bypass shows the server's chain")
        self.assertEqual(first["body"], f"site={SITE}\n")
        self.wait_flow_event(family, BYPASSED, "bypass")
        self.assertEqual(k.learned_verdict(pin_dir, address, 443), "bypass_only")

        # 2. Forwarded by the kernel, SNI checked; the terminator never sees it.
        before = self.stats()
        events_before = len(self.gateway.events())
        client_address = plan.client_address(family)
        held = k.HeldClient(self.lab.topology, address, 443, BYPASSED, self.lab.client_bundle(),
                            HELD_PORT[family])
        self.assertTrue(held.ready.get("ready") and held.ready.get("ok"), held.ready)
        entry = k.flow_entry(pin_dir, client_address, HELD_PORT[family], address, 443)
        self.assertIsNotNone(entry, "no flow table entry for the held flow")
        self.assertEqual((entry["state"], entry["reason"]), ("bypass", "learned_bypass"), entry)
        self.assertEqual(k.terminator_sockets(self.lab.topology, client_address,
                                              HELD_PORT[family]), [],
                         "the router holds a socket of the kernel-forwarded flow")
        done = held.release()
        self.assertTrue(done["ok"], done)
        self.assertEqual(done["issuer_cn"], INTERMEDIATE_CN)
        after = self.stats()
        self.assertEqual(after["terminator"]["connections_accepted"],
                         before["terminator"]["connections_accepted"],
                         "the terminator accepted the kernel-forwarded flow")
        self.assertEqual(after["kernel"]["sni_verified"], before["kernel"]["sni_verified"] + 1)
        self.assertEqual(after["kernel"]["learned_flows"], before["kernel"]["learned_flows"] + 1)
        time.sleep(0.5)  # a flow event would have been written by now
        port_suffix = f":{HELD_PORT[family]}"
        late = [e for e in self.gateway.events()[events_before:]
                if str(e.get("client", "")).endswith(port_suffix)
                and e.get("decided_by") != "kernel"]
        self.assertEqual(late, [], "a flow event for the kernel-forwarded flow")

        # 3. Another name on the learned address: reset by the kernel, demoted.
        mismatch = self.client(family, INSPECTED)
        self.assertFalse(mismatch["ok"], mismatch)
        self.assertIn("error", mismatch)
        self.assertEqual(k.learned_verdict(pin_dir, address, 443), "mixed")
        reset = self.stats()
        self.assertEqual(reset["kernel"]["sni_resets"], after["kernel"]["sni_resets"] + 1)
        self.assertEqual(reset["terminator"]["connections_accepted"],
                         after["terminator"]["connections_accepted"])
        self.assertEqual(self.flow_events(family, INSPECTED), [],
                         "the reset flow reached the terminator")

        # 4. The retry is steered and inspected.
        retry = self.client(family, INSPECTED)
        self.assertTrue(retry["ok"], retry)
        self.assertTrue(retry["issuer_cn"].startswith("tlsgate"), retry)
        self.assertEqual(retry["body"], f"site={SITE}\n")
        self.wait_flow_event(family, INSPECTED, "inspect")
        # And the bypassed name is steered again too while the address is mixed.
        again = self.client(family, BYPASSED)
        self.assertTrue(again["ok"], again)
        self.wait_flow_event(family, BYPASSED, "bypass", count=2)
        self.assertEqual(k.learned_verdict(pin_dir, address, 443), "mixed")

    def test_bypass_name_toward_another_server_is_not_honoured(self):
        """Bypass integrity: a client claiming the bypassed name toward a
        server that does not serve it (good.lab.test's address) is inspected,
        not bypassed; the address is not learned as bypass-only."""
        other = "good.lab.test"
        for family in (4, 6):
            with self.subTest(family=family):
                address = plan.site_address(other, family)
                before = len(self.lab.nginx.access_lines(other))
                result = k.peer_client(self.lab.topology, address, 443, BYPASSED,
                                       self.lab.client_bundle())
                # Inspected: the gateway validates good.lab.test's certificate
                # for the claimed name, which it does not cover.
                self.assertFalse(result["ok"], result)
                event = self.gateway.wait_event(
                    lambda e: e.get("type") == "flow" and e.get("sni") == BYPASSED
                    and server_matches(e.get("server"), address))
                self.assertIsNotNone(event, self.lab.diagnostics())
                self.assertEqual(event["action"], "block", event)
                self.assertIn("hostname_mismatch", event["reason"], event)
                self.assertEqual(k.learned_verdict(self.gateway.pin_dir, address, 443), "mixed")
                self.assertEqual(len(self.lab.nginx.access_lines(other)), before,
                                 "a request reached the server")
        self.assertIn(f"bypass of {BYPASSED} at", self.gateway.log_tail())
        self.assertEqual(self.stats()["terminator"]["bypass_probe_failures"], 2)


if __name__ == "__main__":
    unittest.main()
