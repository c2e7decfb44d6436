"""QUIC (DESIGN.md §2): UDP to an intercept port from a client subject to
inspection is refused with ICMP / ICMPv6 port unreachable by the TC program,
so the browser falls back to TCP at once; `quic = "allow"` lets it through,
and so does a client bypass rule. A UDP echo server on the site's address
shows what reached the server side."""

import json
import pathlib
import unittest

import lab_kernel as k
import lab_sites as plan
from lab_case import LabTestCase
from lab_gateway import gateway_binaries

SITE = "good.lab.test"


class QuicTest(LabTestCase):
    def setUp(self):
        super().setUp()
        self.record = pathlib.Path(self.lab.dir, "udp-echo.log")
        echo = k.start_peer(self.lab.topology, "udp-echo",
                            "--listen", f"{plan.site_v4(SITE)}:443",
                            "--listen", f"[{plan.site_v6(SITE)}]:443",
                            "--record", str(self.record))
        self.addCleanup(k.stop_peer, echo)

    def send(self, family: int) -> dict:
        address = plan.site_address(SITE, family)
        argv = [k.PYTHON, str(k.PEER), "udp-send", "--connect", f"{k.bracket(address)}:443"]
        proc = self.lab.topology.run_in("client", argv, timeout=30)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def arrived(self) -> int:
        return len(self.record.read_text().splitlines()) if self.record.exists() else 0

    def quic_refused(self) -> int:
        _, ctl = gateway_binaries()
        return k.stats(self.lab.topology, ctl, self.gateway.config)["kernel"]["quic_refused"]

    def test_block(self):
        self.gateway = self.lab.start_gateway()  # quic = "block" is the default
        for family in (4, 6):
            with self.subTest(family=family):
                result = self.send(family)
                self.assertEqual(result, {"echo": False, "error": "ConnectionRefusedError"})
        self.assertEqual(self.arrived(), 0, "a refused datagram reached the server")
        self.assertEqual(self.quic_refused(), 2)

    def test_allow(self):
        self.gateway = self.lab.start_gateway(settings={"gateway": {"quic": "allow"}})
        for family in (4, 6):
            with self.subTest(family=family):
                self.assertEqual(self.send(family), {"echo": True})
        self.assertEqual(self.arrived(), 2)
        self.assertEqual(self.quic_refused(), 0)

    def test_bypassed_client_keeps_quic(self):
        rules = ({"name": "v6-client", "action": "bypass",
                  "client": [f"{plan.client_address(6)}/128"]},)
        self.gateway = self.lab.start_gateway(rules=rules)
        self.assertEqual(self.send(6), {"echo": True})
        self.assertEqual(self.send(4), {"echo": False, "error": "ConnectionRefusedError"})
        self.assertEqual(self.arrived(), 1)
        self.assertEqual(self.quic_refused(), 1)


if __name__ == "__main__":
    unittest.main()
