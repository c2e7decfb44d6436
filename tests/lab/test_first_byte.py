"""Time to the first response byte through the gateway (issue 17): a client
with Nagle's algorithm on (Python's default socket, `openssl s_client`) must
not wait for the gateway's delayed ACK (~40 ms) before its first request
leaves. Each case measures new connections directly to nginx (no gateway
yet), then through the inspecting gateway, for TLS 1.3 and 1.2, HTTP/1.1 and
h2 (ALPN, raw h2 preface): the median through the gateway stays under
BOUND_MS. The figures are printed for the report.
"""

import json
import pathlib
import statistics
import sys

import lab_sites as plan
from lab_case import LabTestCase

SITE = "good.lab.test"
PROBE = str(pathlib.Path(__file__).with_name("lab_first_byte.py"))
BOUND_MS = 20.0
COUNT = 7
CASES = (  # (client, TLS version, ALPN)
    ("python", "1.3", "http/1.1"),
    ("python", "1.2", "http/1.1"),
    ("python", "1.3", "h2"),
    ("python", "1.2", "h2"),
    ("s_client", "1.3", "http/1.1"),
    ("s_client", "1.2", "http/1.1"),
)


class FirstByteTest(LabTestCase):
    def measure(self, cafile: pathlib.Path, client: str, tls: str, alpn: str) -> list[float]:
        argv = [sys.executable, PROBE, "--address", plan.site_address(SITE, 4), "--name", SITE,
                "--cafile", str(cafile), "--tls", tls, "--alpn", alpn, "--client", client,
                "--count", str(COUNT)]
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=120)
        self.assertEqual(proc.returncode, 0, f"{' '.join(argv)}\n{proc.stderr}")
        return json.loads(proc.stdout)["samples_ms"]

    def test_nagle_clients_get_their_first_byte_without_the_delayed_ack(self):
        direct = {case: self.measure(self.lab.pki.trust_bundle, *case) for case in CASES}
        self.lab.start_gateway()
        bundle = self.lab.client_bundle()
        through = {case: self.measure(bundle, *case) for case in CASES}
        report = []
        for case in CASES:
            d, g = statistics.median(direct[case]), statistics.median(through[case])
            report.append(f"{case[0]:8} TLS {case[1]} {case[2]:8}: direct p50 {d:6.2f} ms "
                          f"max {max(direct[case]):6.2f}; gateway p50 {g:6.2f} ms "
                          f"max {max(through[case]):6.2f}")
        print("\ntime to first response byte (Nagle client, new connections):\n"
              + "\n".join(report), file=sys.stderr)
        for case in CASES:
            with self.subTest(case=case):
                self.assertLess(statistics.median(through[case]), BOUND_MS,
                                "\n".join(report) + "\n" + self.lab.diagnostics())
        flows = [e for e in self.lab.gateway.events()
                 if e.get("type") == "flow" and e.get("sni") == SITE]
        self.assertGreaterEqual(len(flows), len(CASES) * COUNT, "not every connection was a flow")
        self.assertEqual({e["action"] for e in flows}, {"inspect"}, flows[:3])
