"""fail_mode when the terminator is gone (DESIGN.md §2, §8): tlsgated is
killed (SIGKILL, by its recorded pid) while clients keep connecting. A crash
leaves the kernel side in place; with no listener left, `open` forwards new
flows natively to the server, `closed` answers their SYN with a RST."""

import os
import signal
import socket
import threading
import time
import unittest

import lab_kernel as k
import lab_sites as plan
from lab_case import LabTestCase
from lab_probe import curl

SITE = "good.lab.test"  # inspected while the gateway runs


class Traffic:
    """Clients connecting in a loop from the client namespace."""

    def __init__(self, lab):
        self.lab = lab
        self.stop = threading.Event()
        self.results = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            for family in (4, 6):
                r = curl(self.lab.topology, SITE, family, self.lab.client_bundle())
                self.results.append(r.exit_code)

    def end(self):
        self.stop.set()
        self.thread.join(timeout=60)


class FailModeTest(LabTestCase):
    def kill_under_traffic(self, fail_mode: str):
        gateway = self.lab.start_gateway(settings={"gateway": {"fail_mode": fail_mode}})
        traffic = Traffic(self.lab)
        deadline = time.monotonic() + 10
        while len(traffic.results) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(len(traffic.results), 4, "no traffic before the kill")
        self.assertEqual(traffic.results[:4], [0] * 4, "flows failed while the gateway ran\n"
                         + self.lab.diagnostics())

        os.kill(gateway.pid, signal.SIGKILL)
        self.assertEqual(gateway.process.wait(timeout=10), -signal.SIGKILL)
        gateway.process = None  # deliberately killed: no clean exit expected at teardown
        time.sleep(0.5)  # traffic goes on meanwhile
        traffic.end()
        # What a crash leaves: the pinned programs and maps, the TC filter.
        self.assertTrue(gateway.pin_dir.is_dir(), "pin dir gone after a crash")
        self.assertNotEqual(gateway.tc_filters(), "", "TC filter gone after a crash")
        return gateway

    def test_open(self):
        gateway = self.kill_under_traffic("open")
        for family in (4, 6):
            with self.subTest(family=family):
                # Passed natively: the server's own chain, the request reaches it.
                self.assert_lab_chain(self.handshake(SITE, family), SITE)
                before = len(self.lab.nginx.access_lines(SITE))
                self.assert_body(self.curl(SITE, family, self.lab.pki.root_cert), SITE)
                self.assert_access_logged(SITE, before)
        counters = k.pinned_counters(gateway.pin_dir)
        self.assertGreater(counters["no_listener"], 0, counters)
        self.assertEqual(counters["fail_closed_resets"], 0, counters)

    def test_closed(self):
        gateway = self.kill_under_traffic("closed")
        before = len(self.lab.nginx.access_lines(SITE))
        for family in (4, 6):
            with self.subTest(family=family):
                address = plan.site_address(SITE, family)
                argv = ["/usr/bin/python3", "-c",
                        "import socket,sys\n"
                        f"s = socket.socket(socket.AF_INET{'6' if family == 6 else ''})\n"
                        "s.settimeout(5)\n"
                        "try:\n"
                        f"    s.connect(('{address}', 443)); print('connected')\n"
                        "except OSError as e:\n"
                        "    print(type(e).__name__)\n"]
                out = self.lab.topology.run_in("client", argv, timeout=30).stdout.strip()
                self.assertEqual(out, "ConnectionRefusedError", "a SYN was not answered by a RST")
                result = self.curl(SITE, family, self.lab.client_bundle())
                self.assertEqual(result.exit_code, 7, result.describe())  # couldn't connect
        self.assertEqual(len(self.lab.nginx.access_lines(SITE)), before,
                         "a request reached the server with fail_mode closed")
        counters = k.pinned_counters(gateway.pin_dir)
        self.assertGreaterEqual(counters["fail_closed_resets"], 4, counters)


if __name__ == "__main__":
    unittest.main()
