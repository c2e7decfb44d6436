"""Security battery cases 20-25: the gateway as a TLS client (its ClientHello,
servers with old protocols, weak ciphers, small DH groups) and as a TLS
server (what its listener refuses, ALPN), one lab for the class."""

import re
import time
import unittest

import lab_sites as plan
from lab_battery import BatteryTestCase, describe_fetch
from lab_probe import Handshake, alpn_of
from lab_rawtls import client_hello, parse_client_hello, server_hello

PROTOCOL_SITES = tuple(s.name for s in plan.BATTERY_SITES if 20 <= plan.case_number(s) <= 25)

# What the gateway may offer upstream: TLS 1.3 suites and ECDHE + AEAD for 1.2.
ALLOWED_SUITES = {
    0x1301: "TLS_AES_128_GCM_SHA256", 0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256", 0x1304: "TLS_AES_128_CCM_SHA256",
    0xC02B: "ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02C: "ECDHE-ECDSA-AES256-GCM-SHA384",
    0xC02F: "ECDHE-RSA-AES128-GCM-SHA256", 0xC030: "ECDHE-RSA-AES256-GCM-SHA384",
    0xCCA8: "ECDHE-RSA-CHACHA20-POLY1305", 0xCCA9: "ECDHE-ECDSA-CHACHA20-POLY1305",
    0xC0AC: "ECDHE-ECDSA-AES128-CCM", 0xC0AD: "ECDHE-ECDSA-AES256-CCM",
}
SCSV = {0x00FF, 0x5600}  # renegotiation info, fallback: signalling values, not suites
# rsa_pkcs1_sha1, dsa_sha1, ecdsa_sha1; 0x01xx are the MD5 codes. (SHA-224,
# 0x0301-0x0303, is not on the battery's list and OpenSSL offers it at level 2.)
WEAK_SIGALGS = {0x0201, 0x0202, 0x0203}
ECDHE_AEAD_TLS12 = {s for s in ALLOWED_SUITES if s >= 0xC000}


class BatteryProtocolTest(BatteryTestCase):
    SITE_NAMES = PROTOCOL_SITES

    def test_20_upstream_client_hello(self):
        name = "c20-client-hello.lab.test"
        with self.subTest(case="20"), self.battery_case("20") as rec:
            seen = len(self.lab.upstreams.records(name))
            f = self.fetch(name)
            rec.note(describe_fetch("h2", f))
            closes = self._wait_records(name, seen)
            self.assertTrue(closes, "the relay saw no connection from the gateway\n"
                            + self.lab.upstreams.output_tail())
            hello = parse_client_hello(bytes.fromhex(closes[0]["head"]))
            offered = [s for s in hello["cipher_suites"] if s not in SCSV]
            rec.note("offered " + ", ".join(ALLOWED_SUITES.get(s, f"0x{s:04x}")
                                            for s in offered))
            rec.note(f"versions {[hex(v) for v in hello['versions']]}, compression "
                     f"{hello['compression']}, groups {[hex(g) for g in hello['groups']]}, "
                     f"SNI {hello['sni']}")
            self.assert_body(f, name)
            self.assertEqual(hello["legacy_version"], 0x0303)
            self.assertTrue(hello["versions"], "no supported_versions extension")
            self.assertLessEqual(set(hello["versions"]), {0x0304, 0x0303},
                                 "only TLS 1.2 and 1.3 may be offered")
            weak = [f"0x{s:04x}" for s in offered if s not in ALLOWED_SUITES]
            self.assertEqual(weak, [], "suites beyond ECDHE/TLS 1.3 + AEAD")
            self.assertEqual(hello["compression"], [0], "null compression only")
            bad_sigalgs = [hex(a) for a in hello["sigalgs"]
                           if a in WEAK_SIGALGS or a >> 8 == 0x01]
            self.assertEqual(bad_sigalgs, [], "SHA-1/MD5 signature algorithms")
            self.assertEqual(hello["sni"], name)

    def _wait_records(self, name: str, seen: int, timeout_s: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            closes = [r for r in self.lab.upstreams.records(name)[seen:]
                      if r["event"] == "close" and r["head"]]
            if closes:
                return closes
            time.sleep(0.05)
        return []

    def test_21_old_protocols(self):
        self.check_blocked("21a", "c21-tls10.lab.test")
        self.check_blocked("21b", "c21-tls11.lab.test")

    def test_22_weak_ciphers(self):
        self.check_blocked("22a", "c22-rc4.lab.test")
        self.check_blocked("22b", "c22-3des.lab.test")
        self.check_blocked("22c", "c22-null.lab.test")
        self.check_blocked("22d", "c22-static-rsa-cbc.lab.test")

    def test_23_weak_dhe(self):
        self.check_blocked("23", "c23-dhe-1024.lab.test")

    # --- 24: the client-facing listener ---------------------------------------------

    def refused(self, case_id: str, name: str, attempts: dict) -> None:
        """Each s_client option set must end without a handshake, with an alert."""
        with self.subTest(case=case_id), self.battery_case(case_id) as rec:
            before = self.upstream_requests(name)
            results = {label: self.chain(name, options=opts) for label, opts in attempts.items()}
            for label, hs in results.items():
                rec.note(f"{label}: " + ("handshake completed " + hs.protocol
                                         if hs.completed else f"refused, alert {hs.alert}"))
            for label, hs in results.items():
                self.assertFalse(hs.completed, f"{label}: " + hs.describe())
                self.assertIsNotNone(hs.alert, f"{label}: refusal without alert: "
                                     + hs.describe())
            self.assert_no_upstream_request(name, before)

    def test_24_client_facing_listener(self):
        name = "c24-listener.lab.test"
        control = self.chain(name, options=["-tls1_2"])
        self.assert_gateway_leaf(control, name)  # the listener works at all
        self.refused("24a", name, {"TLS 1.1": ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]})
        self.refused("24b", name, {
            "ECDHE CBC only": ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-"
                               "SHA:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA:@SECLEVEL=0"],
            "static RSA GCM": ["-tls1_2", "-cipher", "AES128-GCM-SHA256:AES256-GCM-SHA384"],
            "DHE GCM": ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"],
        })
        with self.subTest(case="24c"), self.battery_case("24c") as rec:
            hs = self._renegotiate(name)
            server_hellos = len(re.findall(r"^<<< .*Handshake .*, ServerHello\s*$", hs.output,
                                           re.M))
            rec.note(f"client asked to renegotiate; ServerHello messages: {server_hellos}; "
                     f"alert {hs.alert}")
            self.assertIn("RENEGOTIATING", hs.output, "s_client did not try: " + hs.describe())
            self.assertGreaterEqual(server_hellos, 1, hs.describe())
            self.assertEqual(server_hellos, 1, "the gateway renegotiated: " + hs.describe())
        with self.subTest(case="24d"), self.battery_case("24d") as rec:
            hello = client_hello((name.encode(),), tls13=False, compression=b"\x01\x00")
            reply = bytes.fromhex(self.raw_send(plan.site_v4(name), hello)["received"])
            sh = server_hello(reply)
            rec.note(f"ServerHello {sh}" if sh else f"no ServerHello ({reply[:16].hex()})")
            self.assertIsNotNone(sh, "no ServerHello for a TLS 1.2 hello offering DEFLATE")
            self.assertEqual(sh["compression_method"], 0, "compression must be null")
            self.assertIn(sh["cipher_suite"], ECDHE_AEAD_TLS12)

    def _renegotiate(self, name: str):
        """s_client over TLS 1.2, asking for renegotiation ('R') mid-connection."""
        address = plan.site_v4(name)
        script = (f"(printf 'R\\n'; sleep 1.5) | openssl s_client -connect {address}:443 "
                  f"-servername {name} -tls1_2 -msg 2>&1")
        proc = self.lab.topology.run_in("client", ["sh", "-c", script], check=False,
                                        timeout=30)
        alert = re.search(r"SSL alert number (\d+)", proc.stdout)
        return Handshake(["sh", "-c", script], "Cipher is" in proc.stdout, "TLSv1.2", [],
                         int(alert.group(1)) if alert else None, proc.stdout)

    # --- 25: ALPN -----------------------------------------------------------------------

    def test_25_alpn(self):
        with self.subTest(case="25"), self.battery_case("25") as rec:
            observed = {}
            for name, client_http, expect in (("c25-h2.lab.test", "2", "2"),
                                              ("c25-http11.lab.test", "2", "1.1"),
                                              ("c25-h2.lab.test", "1.1", "1.1")):
                before = len(self.lab.nginx.access_lines(name))
                f = self.fetch(name, http=client_http)
                self.assert_access_growth(name, before)
                line = self.lab.nginx.access_lines(name)[before]
                upstream_proto = line.split()[2]
                observed[(name, client_http)] = (f, upstream_proto, expect)
                offers = "h2,http/1.1" if client_http == "2" else "http/1.1"
                rec.note(f"{name} client offers {offers}: client {f.short()}, "
                         f"upstream {upstream_proto}")
            alpn = {n: alpn_of(self.chain(n, options=["-alpn", "h2,http/1.1"]))
                    for n in ("c25-h2.lab.test", "c25-http11.lab.test")}
            rec.note(f"s_client -alpn h2,http/1.1: {alpn}")
            for (name, _), (f, upstream_proto, expect) in observed.items():
                self.assert_body(f, name, expect)
                self.assertEqual(upstream_proto, "HTTP/2.0" if expect == "2" else "HTTP/1.1",
                                 f"{name}: the two sides speak different HTTP versions")
            self.assertEqual(alpn, {"c25-h2.lab.test": "h2", "c25-http11.lab.test": "http/1.1"})

    def assert_access_growth(self, name: str, before: int) -> None:
        deadline = time.monotonic() + 3.0
        while len(self.lab.nginx.access_lines(name)) <= before:
            if time.monotonic() > deadline:
                self.fail(f"{name}: the request did not reach the upstream")
            time.sleep(0.05)


if __name__ == "__main__":
    unittest.main()
