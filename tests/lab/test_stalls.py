"""10,000 stalled peers at once (issue 14.3, fault table): 5,000 clients
that stop in the middle of their ClientHello, 4,800 whose inspected flow
goes to an upstream that accepts and never answers, 200 that stop in the
middle of their HTTP request after the TLS handshake. Meanwhile new flows
are still inspected and bypassed; the gateway's memory per stalled flow is
measured. Then the 5,000 half-hello clients leave with a RST (a RST storm)
and the others with a FIN (a half-close storm): every flow is cleaned up
and the descriptors return to where they were."""

import json
import os
import resource
import subprocess
import time
import unittest

import lab_kernel as k
import lab_sites as plan
from lab_case import LabTestCase
from lab_gateway import gateway_binaries
from lab_restart import wait_for

STALLER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab_stall.py")
STALL_SITE = "mixed.lab.test"  # inspected; its address gets the stalling upstream
PORT = 8443
HALF_CLOSE_FLOWS = 500
LEAVING_CLIENTS = 200
RST_FLOWS = 100
# One address, two names: the inspected one keeps the kernel from learning
# the address as bypass-only, so every flow to the other is spliced.
MIXED_INSPECTED, MIXED_BYPASSED = "mixed.lab.test", "mixed-bypass.lab.test"
MIXED_RULES = ({"name": "bypass-mixed", "action": "bypass", "sni": [MIXED_BYPASSED]},)
GROUPS = (("partial-hello", 5000, True), ("hello", 4800, False), ("mid-request", 200, False))


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def release_and_wait_freed(groups, stats) -> None:
    """Lets the staller groups go (they act when their stdin closes) and
    waits until the gateway holds no flow."""
    for p in groups:
        p.stdin.close()
    for p in groups:
        p.wait(timeout=30)
    wait_for(lambda: stats()["terminator"]["connections_active"] == 0, 30, "every flow freed")


class StallTest(LabTestCase):
    def staller(self, role, *args) -> subprocess.Popen:
        argv = self.lab.topology.ns_argv(role == "upstream" and "server" or "client",
                                         ["/usr/bin/python3", STALLER, role, *args])
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))
        return p

    def test_10000_stalled_peers(self):
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # tlsgated inherits it
        gateway = self.lab.start_gateway(settings={"gateway": {
            "intercept_ports": [443, PORT], "max_connections_per_client": 0,
            "handshake_timeout": "60s", "workers": 2}})
        _, ctl = gateway_binaries()
        stats = lambda: k.stats(self.lab.topology, ctl, gateway.config)  # noqa: E731
        upstream = self.staller("upstream", "--listen", f"{plan.site_v4(STALL_SITE)}:{PORT}")
        self.assertIn("listening", upstream.stdout.readline())
        bundle = self.lab.client_bundle()
        self.assert_body(self.curl("good.lab.test", 4, bundle), "good.lab.test")
        rss_before, fds_before = rss_kib(gateway.pid), fds(gateway.pid)

        groups = []
        for mode, count, reset in GROUPS:
            target = (f"{plan.site_v4(STALL_SITE)}:{PORT}" if mode == "hello"
                      else f"{plan.site_address('good.lab.test', 4)}:443")
            sni = STALL_SITE if mode == "hello" else "good.lab.test"
            args = ["--connect", target, "--sni", sni, "--count", str(count), "--mode", mode]
            args += ["--reset"] if reset else []
            args += ["--ca", str(bundle)] if mode == "mid-request" else []
            groups.append((mode, count, self.staller("clients", *args)))
        for mode, count, p in groups:
            result = json.loads(p.stdout.readline())
            self.assertEqual(result["connected"], count, f"{mode}: {result}")
        total = sum(c for _, c, _ in groups)
        wait_for(lambda: stats()["terminator"]["connections_active"] >= total, 60,
                 f"{total} stalled flows in the terminator")
        rss_held = rss_kib(gateway.pid)

        # New flows go on: inspected and bypassed, timed.
        started = time.monotonic()
        self.assert_body(self.curl("good.lab.test", 4, bundle), "good.lab.test")
        inspected_s = time.monotonic() - started
        started = time.monotonic()
        self.assertEqual(self.curl("bypass.lab.test", 4, self.lab.pki.root_cert).exit_code, 0)
        bypassed_s = time.monotonic() - started

        # RST storm (the half-hello clients) and FINs from everyone else.
        started = time.monotonic()
        for _, _, p in groups:
            p.stdin.close()
        for _, _, p in groups:
            p.wait(timeout=60)
        wait_for(lambda: stats()["terminator"]["connections_active"] == 0, 90,
                 "every stalled flow cleaned up")
        cleanup_s = time.monotonic() - started
        wait_for(lambda: fds(gateway.pid) <= fds_before + 4, 30, "descriptors back")
        rss_after = rss_kib(gateway.pid)
        self.assert_body(self.curl("good.lab.test", 4, bundle), "good.lab.test")
        per_flow = (rss_held - rss_before) / total
        print(f"{total} stalled peers: new inspected flow {inspected_s:.2f}s, bypassed "
              f"{bypassed_s:.2f}s while held; RSS {rss_before // 1024} MiB -> "
              f"{rss_held // 1024} MiB held ({per_flow:.1f} KiB per stalled flow) -> "
              f"{rss_after // 1024} MiB after; all cleaned up {cleanup_s:.1f}s after the RST/FIN "
              f"storm; fds {fds_before} -> {fds(gateway.pid)}")
        self.assertLess(per_flow, 256, "memory per stalled flow unbounded")


    def test_clients_leaving_during_the_upstream_handshake(self):
        """200 clients send a ClientHello for an inspected flow whose upstream
        stalls its handshake, then leave: 100 with a FIN, 100 with a RST. The
        gateway notices each at once (not at handshake_timeout) and frees it."""
        gateway = self.lab.start_gateway(settings={"gateway": {
            "intercept_ports": [443, PORT], "max_connections_per_client": 0,
            "handshake_timeout": "60s"}})
        _, ctl = gateway_binaries()
        stats = lambda: k.stats(self.lab.topology, ctl, gateway.config)  # noqa: E731
        upstream = self.staller("upstream", "--listen", f"{plan.site_v4(STALL_SITE)}:{PORT}")
        self.assertIn("listening", upstream.stdout.readline())
        # One flow first: what the daemon opens once (its journal socket, for
        # the first event) is in the baseline.
        self.assert_body(self.curl("good.lab.test", 4, self.lab.client_bundle()), "good.lab.test")
        timeouts_before = stats()["terminator"]["handshake_timeouts"]
        fds_before = fds(gateway.pid)
        groups = []
        for reset in (False, True):
            args = ["--connect", f"{plan.site_v4(STALL_SITE)}:{PORT}", "--sni", STALL_SITE,
                    "--count", str(LEAVING_CLIENTS // 2), "--mode", "hello"]
            groups.append(self.staller("clients", *(args + (["--reset"] if reset else []))))
        for p in groups:
            result = json.loads(p.stdout.readline())
            self.assertEqual(result["connected"], LEAVING_CLIENTS // 2, result)
        wait_for(lambda: stats()["terminator"]["connections_active"] >= LEAVING_CLIENTS, 30,
                 f"{LEAVING_CLIENTS} flows waiting for the upstream handshake")
        started = time.monotonic()
        release_and_wait_freed(groups, stats)
        # No control connection from here (the daemon's end of one is a descriptor too).
        wait_for(lambda: fds(gateway.pid) <= fds_before, 30, "descriptors back")
        freed_s = time.monotonic() - started
        self.assertLess(freed_s, 2.0, "flows freed only at a timeout")
        self.assertEqual(stats()["terminator"]["handshake_timeouts"], timeouts_before)
        print(f"{LEAVING_CLIENTS} clients leaving during the upstream handshake (FIN and RST): "
              f"all freed {freed_s:.2f}s after they left; fds {fds_before} -> {fds(gateway.pid)}")

    def test_rst_storm_on_relayed_flows(self):
        """100 inspected and 100 spliced flows, each in the middle of a
        request after its TLS handshake, end with a RST from the client: all
        freed at once, descriptors back. (The 10,000-peer test covers RSTs
        before classification, test_clients_leaving_... those during the
        upstream handshake.)"""
        gateway = self.lab.start_gateway(rules=MIXED_RULES)
        _, ctl = gateway_binaries()
        stats = lambda: k.stats(self.lab.topology, ctl, gateway.config)  # noqa: E731
        bundle = self.lab.client_bundle()
        self.assert_body(self.curl(MIXED_INSPECTED, 4, bundle), MIXED_INSPECTED)
        fds_before = fds(gateway.pid)
        mixed = f"{plan.site_address(MIXED_INSPECTED, 4)}:443"
        groups = [self.staller("clients", "--connect", mixed, "--sni", sni, "--count",
                               str(RST_FLOWS), "--mode", "mid-request", "--ca", str(ca),
                               "--reset")
                  for sni, ca in ((MIXED_INSPECTED, bundle),
                                  (MIXED_BYPASSED, self.lab.pki.root_cert))]
        for p in groups:
            result = json.loads(p.stdout.readline())
            self.assertEqual(result["connected"], RST_FLOWS, result)
        wait_for(lambda: stats()["terminator"]["connections_active"] >= 2 * RST_FLOWS, 30,
                 "every flow relaying")
        splices = stats()["terminator"]["kernel_splices"]
        started = time.monotonic()
        release_and_wait_freed(groups, stats)
        wait_for(lambda: fds(gateway.pid) <= fds_before, 30, "descriptors back")
        freed_s = time.monotonic() - started
        print(f"RST storm: {RST_FLOWS} inspected and {RST_FLOWS} spliced ({splices} splices) "
              f"flows reset by their clients mid-request: all freed {freed_s:.2f}s after; "
              f"fds {fds_before} -> {fds(gateway.pid)}")
        self.assertGreaterEqual(splices, RST_FLOWS)
        self.assertLess(freed_s, 2.0, "flows freed only at a timeout")

    def half_close_storm(self, site: str, inspected: bool, h2: bool = False,
                         fin_only: bool = False, sni: str | None = None, rules=None,
                         before=None) -> dict:
        """HALF_CLOSE_FLOWS flows whose client ends its side right after the
        request (every other one with close_notify before the FIN, unless
        `fin_only`): does every response still arrive whole? `sni`: another
        name served by `site`; `before(gateway)` runs before the storm."""
        gateway = self.lab.start_gateway(**({"rules": rules} if rules else {}))
        _, ctl = gateway_binaries()
        stats = lambda: k.stats(self.lab.topology, ctl, gateway.config)  # noqa: E731
        ca = self.lab.client_bundle() if inspected else self.lab.pki.root_cert
        if before:
            before(gateway)
        splices_before = stats()["terminator"]["kernel_splices"]
        fds_before = fds(gateway.pid)
        started = time.monotonic()
        argv = self.lab.topology.ns_argv("client", [
            "/usr/bin/python3", STALLER, "half-close", "--connect",
            f"{plan.site_address(site, 4)}:443", "--sni", sni or site, "--site", site,
            "--ca", str(ca), "--count", str(HALF_CLOSE_FLOWS)] + (["--h2"] if h2 else []) +
            (["--fin-only"] if fin_only else []))
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        elapsed = time.monotonic() - started
        wait_for(lambda: stats()["terminator"]["connections_active"] == 0, 30, "every flow ended")
        wait_for(lambda: fds(gateway.pid) <= fds_before + 4, 30, "descriptors back")
        result["kernel_splices"] = stats()["terminator"]["kernel_splices"] - splices_before
        kind = "inspected" if inspected else f"bypassed ({result['kernel_splices']} spliced)"
        print(f"half-close storm, {kind}{' h2' if h2 else ''}: "
              f"{result['complete']}/{HALF_CLOSE_FLOWS} responses complete after the client's "
              f"end, in {elapsed:.1f}s; fds {fds_before} -> {fds(gateway.pid)}; "
              f"errors {result['errors'][:5]}")
        return result

    # Bypassed by name: the kernel learns the address serves only bypassed
    # names and forwards most flows itself; the first ones are spliced. FIN
    # alone: a close_notify is the server's to answer (nginx resets the
    # connection then, with or without the gateway).
    def test_half_close_storm_bypassed(self):
        result = self.half_close_storm("bypass.lab.test", inspected=False, fin_only=True)
        self.assertEqual(result["broken"], 0, result)

    # Every flow spliced by the terminator (sockmap): the address also serves
    # an inspected name, so the kernel never forwards its flows itself.
    def test_half_close_storm_spliced(self):
        def inspect_first(gateway):
            self.assert_body(self.curl(MIXED_INSPECTED, 4, self.lab.client_bundle()),
                             MIXED_INSPECTED)
        result = self.half_close_storm(MIXED_INSPECTED, inspected=False, fin_only=True,
                                       sni=MIXED_BYPASSED, rules=MIXED_RULES,
                                       before=inspect_first)
        self.assertEqual(result["kernel_splices"], HALF_CLOSE_FLOWS, result)
        self.assertEqual(result["broken"], 0, result)

    # TLS 1.3 allows the half-close (RFC 8446 §6.1): the client's end (FIN,
    # or close_notify) after a whole request still gets the response.
    def test_half_close_storm_inspected(self):
        result = self.half_close_storm("good.lab.test", inspected=True)
        self.assertEqual(result["broken"], 0, result)

    # h2: the request's END_STREAM, then the client's end of the connection.
    def test_half_close_storm_inspected_h2(self):
        result = self.half_close_storm("good.lab.test", inspected=True, h2=True)
        self.assertEqual(result["broken"], 0, result)


if __name__ == "__main__":
    unittest.main()
