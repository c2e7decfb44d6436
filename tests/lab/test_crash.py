"""kill -9 under load (issue 14.2, fault table): 200 concurrent flows — 100
the kernel decided (destination bypass, never in the terminator) and 100
bypassed by name and spliced by the terminator (sockmap) — then SIGKILL.
Measured: how many of each class survive (kernel-decided: all, the goal is
0 dropped; spliced: their sockets lived in the killed process), how long
until a new flow passes (fail_mode open, promised within 1 s), and how long
a restarted daemon takes until a flow is inspected again (promised within
3 s of the restart). The kernel-decided flows still run after the restart."""

import json
import os
import signal
import subprocess
import time
import unittest

import lab_kernel as k
import lab_sites as plan
from lab_case import LabTestCase
from lab_gateway import READY_LINE, gateway_binaries

KERNEL_DECIDED = "mixed.lab.test"  # destination bypass: the TC program forwards it
SPLICED = "splice.lab.test"  # bypass by name: the terminator splices it
PORT = 8443
PER_CLASS = 100
HOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab_flow_holder.py")

# Connects in a loop (every 20 ms) until a TLS handshake with the lab chain
# completes; prints the seconds since `start` (CLOCK_MONOTONIC, passed in).
FIRST_PASS = """
import socket, ssl, sys, time
start, host, ca = float(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
while True:
    try:
        with socket.create_connection((host, 443), timeout=1) as raw:
            with ctx.wrap_socket(raw, server_hostname="good.lab.test"):
                print(time.clock_gettime(time.CLOCK_MONOTONIC) - start, flush=True)
                break
    except (OSError, ssl.SSLError):
        time.sleep(0.02)
"""


class Holder:
    def __init__(self, lab, site, count):
        address = plan.site_address(site, 4)
        argv = lab.topology.ns_argv("client", ["/usr/bin/python3", HOLDER, "--connect",
                                               f"{address}:{PORT}", "--sni", site, "--ca",
                                               str(lab.pki.root_cert), "--count", str(count)])
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"flow holder exited {self.process.poll()}")
        return json.loads(line)

    def check(self) -> dict:
        self.process.stdin.write("check\n")
        self.process.stdin.flush()
        return self.read()

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class CrashTest(LabTestCase):
    def test_kill9_under_200_flows(self):
        rules = ({"name": "bypass-splice", "action": "bypass", "sni": [SPLICED]},
                 {"name": "bypass-dst", "action": "bypass",
                  "dst": [plan.site_address(KERNEL_DECIDED, 4) + "/32"]})
        settings = {"gateway": {"intercept_ports": [443, PORT], "fail_mode": "open"}}
        gateway = self.lab.start_gateway(rules=rules, settings=settings)
        tlsgated, ctl = gateway_binaries()
        for site in (KERNEL_DECIDED, SPLICED):
            row = plan.site(site)
            peer = k.start_peer(self.lab.topology, "server", "--cert",
                                str(self.lab.pki.served_chain(row)), "--key",
                                str(self.lab.pki.leaf_key(row)),
                                "--listen", f"{plan.site_v4(site)}:{PORT}")
            self.addCleanup(k.stop_peer, peer)
        holders = {site: Holder(self.lab, site, PER_CLASS) for site in (KERNEL_DECIDED, SPLICED)}
        for h in holders.values():
            self.addCleanup(h.close)
        for site, h in holders.items():
            ready = h.read()
            self.assertEqual(ready["ready"], PER_CLASS, f"{site}: {ready}")
        # The first flows by name are spliced by the terminator; once the
        # address is learned as bypass-only, the kernel takes the rest.
        stats = k.stats(self.lab.topology, ctl, gateway.config)
        in_terminator = stats["terminator"]["connections_active"]
        self.assertGreater(in_terminator, 0, stats)
        learned = stats["kernel"]["learned_flows"]
        self.assertEqual(in_terminator + learned, PER_CLASS, stats)

        killed_at = time.clock_gettime(time.CLOCK_MONOTONIC)
        os.kill(gateway.pid, signal.SIGKILL)
        self.assertEqual(gateway.process.wait(timeout=10), -signal.SIGKILL)
        gateway.process = None
        probe = self.lab.topology.run_in(
            "client", ["/usr/bin/python3", "-c", FIRST_PASS, str(killed_at),
                       plan.site_address("good.lab.test", 4), str(self.lab.pki.root_cert)],
            timeout=30)
        fail_open_s = float(probe.stdout.strip())

        after_kill = {site: h.check() for site, h in holders.items()}

        # The restart (what Restart=on-failure does): the same config.
        start_offset = gateway.stderr_path.stat().st_size
        restarted_at = time.clock_gettime(time.CLOCK_MONOTONIC)
        gateway.start(tlsgated, ctl)
        ready_s = time.clock_gettime(time.CLOCK_MONOTONIC) - restarted_at
        self.assertNotIn("took over", gateway.stderr_path.read_text()[start_offset:])
        bundle = self.lab.client_bundle()
        while True:
            result = self.curl("good.lab.test", 4, bundle)
            if result.exit_code == 0 and gateway.wait_event(
                    lambda e: e.get("type") == "flow" and e.get("sni") == "good.lab.test"
                    and e.get("action") == "inspect", timeout_s=0):
                break
            self.assertLess(time.clock_gettime(time.CLOCK_MONOTONIC) - restarted_at, 30,
                            result.describe())
        inspected_s = time.clock_gettime(time.CLOCK_MONOTONIC) - restarted_at
        after_restart = holders[KERNEL_DECIDED].check()

        print(f"kill -9 under {2 * PER_CLASS} flows: destination-bypassed dropped "
              f"{after_kill[KERNEL_DECIDED]['dropped']}/{PER_CLASS}; bypassed by name "
              f"dropped {after_kill[SPLICED]['dropped']}/{PER_CLASS} ({in_terminator} spliced "
              f"by the terminator, {learned} learned by the kernel); new flow passes (fail open) "
              f"{fail_open_s:.3f}s after the kill; restarted daemon ready in {ready_s:.2f}s, "
              f"first inspected flow {inspected_s:.2f}s after the restart; kernel-decided "
              f"dropped after the restart {after_restart['dropped']}/{PER_CLASS}")
        self.assertEqual(after_kill[KERNEL_DECIDED]["dropped"], 0, after_kill)
        # Only flows whose sockets lived in the killed process end.
        self.assertLessEqual(after_kill[SPLICED]["dropped"], in_terminator, after_kill)
        self.assertEqual(after_restart["dropped"], 0, after_restart)
        self.assertLess(fail_open_s, 1.0)


if __name__ == "__main__":
    unittest.main()
