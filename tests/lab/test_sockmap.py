"""A flow the terminator bypasses is relayed by the kernel (sockmap, DESIGN.md
§3): 100 MB each way over one TLS connection, verified by SHA-256 at both
ends, through the terminator's sockets without a userspace copy
(`tlsgatectl stats`: kernel_splices, and the flow event's byte counts come
from the BPF counters). Then the flow ends cleanly on both sides.

splice.lab.test gets a bulk server (lab_tls_peer.py) on port 8443, an
intercept port of this gateway.
"""

import time
import unittest

import lab_kernel as k
import lab_sites as plan
from lab_case import LabTestCase, server_matches
from lab_gateway import gateway_binaries
from lab_pki import INTERMEDIATE_CN

SITE = "splice.lab.test"
PORT = 8443
MB = 1 << 20
TRANSFER = 100 * MB
RULES = ({"name": "bypass-splice", "action": "bypass", "sni": [SITE]},)
SETTINGS = {"gateway": {"intercept_ports": [443, PORT]}}


class SockmapTest(LabTestCase):
    def setUp(self):
        super().setUp()
        self.gateway = self.lab.start_gateway(rules=RULES, settings=SETTINGS)
        _, self.ctl = gateway_binaries()
        row = plan.site(SITE)
        server = k.start_peer(
            self.lab.topology, "server", "--cert", str(self.lab.pki.served_chain(row)),
            "--key", str(self.lab.pki.leaf_key(row)),
            "--listen", f"{plan.site_v4(SITE)}:{PORT}",
            "--listen", f"[{plan.site_v6(SITE)}]:{PORT}")
        self.addCleanup(k.stop_peer, server)

    def stats(self) -> dict:
        return k.stats(self.lab.topology, self.ctl, self.gateway.config)

    def test_100mb_each_way(self):
        for family in (4, 6):
            with self.subTest(family=family):
                address = plan.site_address(SITE, family)
                before = self.stats()["terminator"]
                result = k.peer_client(self.lab.topology, address, PORT, SITE,
                                       self.lab.pki.root_cert, "--upload", str(TRANSFER),
                                       "--download", str(TRANSFER), timeout=150)
                self.assertTrue(result.get("upload_ok"), f"{result}\n{self.lab.diagnostics()}")
                self.assertTrue(result.get("download_ok"), result)
                self.assertEqual(result["issuer_cn"], INTERMEDIATE_CN)

                event = self.gateway.wait_event(
                    lambda e: e.get("type") == "flow" and e.get("sni") == SITE
                    and server_matches(e.get("server"), address)
                    and e.get("bytes_from_client", 0) >= TRANSFER, timeout_s=10)
                self.assertIsNotNone(event, "no flow event for the transfer\n"
                                     + self.lab.diagnostics())
                self.assertEqual(event["action"], "bypass", event)
                self.assertGreaterEqual(event["bytes_from_server"], TRANSFER, event)
                self.assertIn(event["reason"], ("closed", "client_epipe", "client_econnreset",
                                                "upstream_epipe", "upstream_econnreset"), event)

                after = self.stats()["terminator"]
                self.assertEqual(after["kernel_splices"], before["kernel_splices"] + 1, after)
                self.assertEqual(after["userspace_splices"], before["userspace_splices"], after)
                # Both sockets are gone once the flow ended.
                deadline = time.monotonic() + 5
                while after["connections_active"] != 0 and time.monotonic() < deadline:
                    time.sleep(0.1)
                    after = self.stats()["terminator"]
                self.assertEqual(after["connections_active"], 0, after)


if __name__ == "__main__":
    unittest.main()
