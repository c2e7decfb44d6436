"""DESIGN.md §3: one client cannot exhaust the terminator. With
max_connections_per_client = 3, a device holding three inspected connections
gets its fourth reset at once (and counted), keeps the three it has, and gets
new ones again as soon as one closes."""

import time
import unittest

from lab_case import LabTestCase
from lab_service import Ctl, HeldConnection, scrape

GOOD = "good.lab.test"
LIMIT = 3


class ClientLimitTest(LabTestCase):
    def held(self) -> HeldConnection:
        conn = HeldConnection(self.lab.topology, GOOD)
        self.addCleanup(conn.close)
        return conn

    def test_connections_past_the_per_client_limit_are_reset_and_counted(self):
        gateway = self.lab.start_gateway(
            settings={"gateway": {"max_connections_per_client": LIMIT}})
        ctl = Ctl(gateway)
        held = [self.held() for _ in range(LIMIT)]
        for conn in held:
            self.assertEqual(conn.get(), f"site={GOOD}\n", self.lab.diagnostics())

        refused = self.handshake(GOOD, 4)
        self.assertFalse(refused.completed, "a connection past the limit was served:\n"
                         + refused.describe())
        stats = ctl.json("stats")["terminator"]
        self.assertEqual(stats["client_limit_refusals"], 1, stats)
        _, samples = scrape(gateway)
        self.assertEqual(samples["tlsgate_terminator_client_limit_refusals_total"], 1)

        # The connections the client had are untouched.
        for conn in held:
            self.assertEqual(conn.get(), f"site={GOOD}\n")
        # One closes: its slot is free again.
        held.pop().close()
        deadline = time.monotonic() + 10
        while ctl.json("stats")["terminator"]["connections_active"] >= LIMIT:
            self.assertLess(time.monotonic(), deadline, "the closed connection never ended")
            time.sleep(0.1)
        again = self.handshake(GOOD, 4)
        self.assertTrue(again.completed, again.describe())
        self.assertEqual(ctl.json("stats")["terminator"]["client_limit_refusals"], 1)


if __name__ == "__main__":
    unittest.main()
