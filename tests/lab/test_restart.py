"""Hitless restart (DESIGN.md §8, userspace/daemon/handover.h), fault tests
with numbers: a bypassed (kernel-spliced) and an inspected 100 MiB download
run while tlsgated restarts; both finish with the bytes intact (SHA-256 of
the stream checked by the client), the old process drains them and exits
without touching the kernel side, the new one serves new flows, and the
flow table and learned map outlive the restart. Then SIGTERM to the new
process still removes everything."""

import threading
import time
import unittest

import lab_kernel as k
import lab_sites as plan
from lab_case import LabTestCase
from lab_gateway import gateway_binaries
from lab_pki import INTERMEDIATE_CN
from lab_restart import Successor, become_subreaper, wait_for

BYPASSED = "splice.lab.test"
INSPECTED = "mixed.lab.test"
PORT = 8443
MB = 1 << 20
TRANSFER = 100 * MB
RULES = ({"name": "bypass-splice", "action": "bypass", "sni": [BYPASSED]},
         {"name": "bypass-bypass-site", "action": "bypass", "sni": ["bypass.lab.test"]})
SETTINGS = {"gateway": {"intercept_ports": [443, PORT]}}


class Download(threading.Thread):
    def __init__(self, lab, site, family, ca):
        super().__init__(daemon=True)
        self.lab, self.site, self.family, self.ca = lab, site, family, ca
        self.result = None
        self.started_at = time.monotonic()

    def run(self):
        address = plan.site_address(self.site, self.family)
        # Paced over 8 s: both flows are still running when the restart comes.
        self.result = k.peer_client(self.lab.topology, address, PORT, self.site, self.ca,
                                    "--download", str(TRANSFER), "--download-seconds", "8",
                                    timeout=170)


class RestartTest(LabTestCase):
    def setUp(self):
        super().setUp()
        become_subreaper()
        self.gateway = self.lab.start_gateway(rules=RULES, settings=SETTINGS)
        _, self.ctl = gateway_binaries()
        for site in (BYPASSED, INSPECTED):
            row = plan.site(site)
            peer = k.start_peer(
                self.lab.topology, "server", "--cert", str(self.lab.pki.served_chain(row)),
                "--key", str(self.lab.pki.leaf_key(row)),
                "--listen", f"{plan.site_v4(site)}:{PORT}",
                "--listen", f"[{plan.site_v6(site)}]:{PORT}")
            self.addCleanup(k.stop_peer, peer)

    def stop_successor_and_check_cleanup(self, successor):
        self.assertEqual(successor.stop(), 0, "the new tlsgated did not stop cleanly")
        self.assertFalse(self.gateway.pin_dir.exists(), "pins left after a stop")
        self.assertEqual(self.gateway.tc_filters(), "", "TC filter left after a stop")
        self.assertEqual(self.gateway.fwmark_rules(), [], "fwmark rules left after a stop")

    def downloads_across(self, restart):
        bundle = self.lab.client_bundle()
        downloads = [Download(self.lab, BYPASSED, 4, self.lab.pki.root_cert),
                     Download(self.lab, INSPECTED, 4, bundle)]
        for d in downloads:
            d.start()
        # Both flows are in the terminator before the restart.
        wait_for(lambda: k.stats(self.lab.topology, self.ctl, self.gateway.config)
                 ["terminator"]["connections_active"] >= 2, 20, "two flows active")
        started = time.monotonic()
        successor = restart()
        took_over_s = time.monotonic() - started
        self.addCleanup(successor.stop)
        # A new flow is served by the new process at once.
        self.assert_body(self.curl("good.lab.test", 4, bundle), "good.lab.test")
        for d in downloads:
            d.join(timeout=180)
        for d in downloads:
            with self.subTest(site=d.site):
                self.assertIsNotNone(d.result, f"{d.site}: download still running")
                self.assertTrue(d.result.get("download_ok"),
                                f"{d.site}: {d.result}\n{self.lab.diagnostics()}")
        self.assertEqual(downloads[0].result["issuer_cn"], INTERMEDIATE_CN)  # bypassed
        self.assertNotEqual(downloads[1].result["issuer_cn"], INTERMEDIATE_CN)  # inspected
        # The old process drained both flows, then left on its own, status 0.
        self.assertEqual(self.gateway.process.wait(timeout=30), 0, self.gateway.log_tail())
        log = self.gateway.log_tail(20000)
        self.assertRegex(log, r"handed over; draining [2-9]\d* flows", log)  # both downloads
        self.assertIn("every flow ended", log)
        self.assertTrue(successor.alive())
        # The kernel side is the new process's and still in place.
        self.assertTrue(self.gateway.pin_dir.is_dir())
        self.assertNotEqual(self.gateway.tc_filters(), "")
        print(f"restart: took over in {took_over_s:.2f}s; bypassed download "
              f"{TRANSFER // MB} MiB intact, inspected download {TRANSFER // MB} MiB intact")
        return successor

    def test_downloads_across_a_restart_beside(self):
        """The lab's way: a second tlsgated with the same config."""
        successor = self.downloads_across(lambda: Successor.start_beside(self.gateway))
        self.stop_successor_and_check_cleanup(successor)

    def test_downloads_across_a_restart_by_sigusr2(self):
        """The unit's and the package's way: SIGUSR2 to the running daemon."""
        successor = self.downloads_across(lambda: Successor.by_signal(self.gateway))
        self.stop_successor_and_check_cleanup(successor)

    def test_kernel_state_outlives_a_restart(self):
        """The learned map (a server seen only with bypassed names) and the
        flow table are the same maps after the restart: the next flow to that
        server is still decided by the kernel."""
        address = plan.site_address("bypass.lab.test", 4)
        for _ in range(2):
            self.assertEqual(self.curl("bypass.lab.test", 4, self.lab.pki.root_cert).exit_code, 0)
        wait_for(lambda: k.learned_verdict(self.gateway.pin_dir, address, 443) == "bypass_only",
                 10, "bypass.lab.test learned as bypass-only")
        flows_before = len(k.dump_pinned(self.gateway.pin_dir / "flows"))
        successor = Successor.start_beside(self.gateway)
        self.addCleanup(successor.stop)
        self.assertEqual(k.learned_verdict(self.gateway.pin_dir, address, 443), "bypass_only",
                         "the learned map was dropped by the restart")
        self.assertGreaterEqual(len(k.dump_pinned(self.gateway.pin_dir / "flows")), flows_before)
        before = k.pinned_counters(self.gateway.pin_dir)["learned_flows"]
        self.assertEqual(self.curl("bypass.lab.test", 4, self.lab.pki.root_cert).exit_code, 0)
        self.assertGreater(k.pinned_counters(self.gateway.pin_dir)["learned_flows"], before,
                           "the first flow after the restart was not decided by the kernel")
        self.assertEqual(self.gateway.process.wait(timeout=30), 0)
        self.stop_successor_and_check_cleanup(successor)


if __name__ == "__main__":
    unittest.main()
