"""What breaks under inspection, and fixing it safely (DESIGN.md §7, issue 7).

A lab client pins the upstream's own key (curl --pinnedpubkey): through the
gateway it gets our forged leaf, completes the handshake and leaves without a
request. That is a client_reject event (device, SNI, JA4, alert); after
`threshold` of them `tlsgatectl suggest` lists the candidate, and accepting it
writes a bypass rule for that device and name, after which the pinned client
gets through. With auto_bypass the gateway bypasses by itself, scoped to the
device: the pinned client then sees the upstream's own chain; the bypass
expires, the next flow is inspected again (a re-test), a client that still
rejects renews it, one that now accepts our certificate ends it.
Flow events carry the client's JA4 and a security delta (an OCSP staple the
server sent and the client asked for but did not get; an ALPN the client
preferred and the gateway does not relay).
"""

from __future__ import annotations

import re
import subprocess
import time

import lab_sites as plan
from lab import Lab
from lab_case import LabTestCase, new_lab_id
from lab_netns import run
from lab_probe import cert_file, handshake
from lab_service import Ctl

GOOD = "good.lab.test"
STAPLED = "c12-ocsp-good.lab.test"
DEVICE = plan.client_address(4)
OTHER_DEVICE = plan.client_address(4, plan.SECOND_CLIENT_HOST)
JA4_RE = re.compile(r"^t1[23][di]\d{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$")
CURL_PIN_MISMATCH = 90  # CURLE_SSL_PINNEDPUBKEYNOTMATCH


def spki_pin(cert_path) -> str:
    """curl's --pinnedpubkey value for a certificate: sha256// + base64(sha256(SPKI))."""
    pubkey = run(["openssl", "x509", "-in", str(cert_path), "-noout", "-pubkey"]).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pubkey.encode(),
                         capture_output=True, check=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der,
                            capture_output=True, check=True).stdout
    b64 = subprocess.run(["base64", "-w0"], input=digest, capture_output=True,
                         check=True).stdout.decode().strip()
    return f"sha256//{b64}"


class SuggestLabBase(LabTestCase):
    def start(self, suggest_settings: dict) -> None:
        self.gateway = self.lab.start_gateway(settings={"suggest": suggest_settings})
        self.ctl = Ctl(self.gateway)
        self.bundle = self.lab.client_bundle()  # the lab root and ours: a pin decides
        self.pin = spki_pin(self.lab.pki.leaf_cert(plan.site(GOOD)))

    def curl(self, pinned: bool = True, source: str = DEVICE) -> subprocess.CompletedProcess:
        argv = ["curl", "-sS", "--max-time", "10", "--cacert", str(self.bundle),
                "--interface", source, "--resolve", f"{GOOD}:443:{plan.site_address(GOOD, 4)}",
                f"https://{GOOD}/"]
        if pinned:
            argv[1:1] = ["--pinnedpubkey", self.pin]
        return self.lab.topology.run_in("client", argv, check=False, timeout=30)

    def assert_rejected(self, proc: subprocess.CompletedProcess) -> None:
        self.assertEqual(proc.returncode, CURL_PIN_MISMATCH,
                         f"pinned curl: {proc.stderr}\n{self.lab.diagnostics()}")

    def assert_through(self, proc: subprocess.CompletedProcess) -> None:
        self.assertEqual((proc.returncode, proc.stdout), (0, f"site={GOOD}\n"),
                         f"curl: {proc.stderr}\n{self.lab.diagnostics()}")

    def events_after(self, count: int, kind: str, timeout_s: float = 5.0, **fields) -> dict:
        """The first event of `kind` among those after the first `count`, with these fields."""
        deadline = time.monotonic() + timeout_s
        while True:
            for e in self.gateway.events()[count:]:
                if e.get("type") == kind and all(e.get(k) == v for k, v in fields.items()):
                    return e
            if time.monotonic() > deadline:
                self.fail(f"no {kind} event with {fields}\n{self.lab.diagnostics()}")
            time.sleep(0.05)

    def flow_after(self, count: int, **fields) -> dict:
        return self.events_after(count, "flow", sni=GOOD, **fields)

    def reject(self, source: str = DEVICE, **fields) -> dict:
        """A pinned curl that fails, and its client_reject event."""
        before = len(self.gateway.events())
        self.assert_rejected(self.curl(source=source))
        return self.events_after(before, "client_reject", device=source, **fields)

    def listing(self) -> dict:
        return self.ctl.json("suggest")

    def assert_upstream_chain(self, source: str = DEVICE) -> None:
        """The client sees nginx's own leaf (issued by the lab), not ours."""
        hs = handshake(self.lab.topology, plan.site_address(GOOD, 4), GOOD, source=source)
        self.assertTrue(hs.completed, hs.describe())
        expected = cert_file(self.lab.pki.leaf_cert(plan.site(GOOD)))
        self.assertEqual(hs.chain[0].sha256, expected.sha256, hs.describe())


class SuggestLabTest(SuggestLabBase):
    def test_pinned_client_rejects_then_a_suggestion_is_accepted(self):
        self.start({"threshold": 3, "window": "10m"})
        first = self.reject()
        self.assertEqual(first["sni"], GOOD)
        self.assertEqual(first["device"], DEVICE)
        self.assertRegex(first["ja4"], JA4_RE)
        # curl checks the pin once the handshake is complete: a close (or an
        # alert) before any request, right after it.
        self.assertEqual(first["phase"], "after_handshake", first)
        self.assertIn(first["alert"], ("closed_after_certificate", "bad_certificate",
                                       "certificate_unknown"), first)
        self.assertEqual((first["in_window"], first["suggested"]), (1, False))
        flow = self.flow_after(0, action="inspect")
        self.assertEqual(flow["ja4"], first["ja4"], "the flow event carries the same JA4")
        self.assertEqual(flow["bytes_from_client"], 0)

        second = self.reject()
        self.assertEqual((second["candidate"], second["in_window"]), (first["candidate"], 2))
        self.assertEqual(self.listing()["suggestions"], [], "a suggestion before the threshold")
        # A client that takes our certificate is no rejection (same JA4: curl).
        before = len(self.gateway.events())
        self.assert_through(self.curl(pinned=False))
        self.flow_after(before, action="inspect")
        self.assertFalse(any(e.get("type") == "client_reject"
                             for e in self.gateway.events()[before:]))

        third = self.reject()
        self.assertTrue(third["suggested"])
        listed = self.listing()["suggestions"]
        self.assertEqual(len(listed), 1, listed)
        s = listed[0]
        self.assertEqual((s["id"], s["kind"], s["device"], s["sni"], s["ja4"], s["count"]),
                         (first["candidate"], "client_reject", f"{DEVICE}/32", GOOD,
                          first["ja4"], 3))
        self.assertFalse(s["auto_bypass"])
        human = self.ctl.run("suggest").stdout
        self.assertIn(s["id"], human)
        self.assertIn("3 (3 in window)", human)

        accepted = self.ctl.json("suggest", "accept", s["id"])
        rule = f"suggested-{s['id']}"
        self.assertEqual(accepted["rule"], rule)
        rules = self.ctl.json("rules", "list")["rules"]
        self.assertEqual(rules[0]["name"], rule)
        self.assertEqual((rules[0]["client"], rules[0]["sni"]), ([f"{DEVICE}/32"], [GOOD]))
        self.assertIn(rule, self.gateway.config.read_text(), "the rule was not persisted")
        self.assertEqual(self.listing()["suggestions"], [])

        before = len(self.gateway.events())
        self.assert_through(self.curl())
        self.flow_after(before, action="bypass", rule=rule)
        self.assert_upstream_chain()
        # Scoped to that device: another one is still inspected.
        self.assert_rejected(self.curl(source=OTHER_DEVICE))

    def test_auto_bypass_lets_the_pinned_client_through_expires_and_is_retested(self):
        self.start({"threshold": 2, "window": "1m", "auto_bypass": True,
                    "auto_bypass_expiry": "6s", "retest_interval": "1h"})
        self.reject()
        before = len(self.gateway.events())
        second = self.reject()
        bypass_id = second["candidate"]
        self.assertEqual(second.get("auto_bypass"), bypass_id, second)
        created = self.events_after(before, "auto_bypass", step="created", id=bypass_id)
        self.assertEqual((created["device"], created["sni"]), (f"{DEVICE}/32", GOOD))

        # Scoped to the device: another one is still inspected, and its single
        # failure bypasses nothing.
        other = self.reject(source=OTHER_DEVICE)
        self.assertNotIn("auto_bypass", other)

        before = len(self.gateway.events())
        self.assert_through(self.curl())
        self.flow_after(before, action="bypass", rule=f"auto_bypass:{bypass_id}")
        self.assert_upstream_chain()
        (listed,) = self.listing()["auto_bypasses"]
        self.assertEqual((listed["id"], listed["state"]), (bypass_id, "active"))

        # Expired: inspected again; the pinned client still rejects, which renews it.
        self.wait_expired(bypass_id)
        before = len(self.gateway.events())
        retest = self.reject(retest=bypass_id)
        self.assertEqual(retest.get("auto_bypass"), bypass_id)
        flow = self.flow_after(before, action="inspect")
        self.assertTrue(flow["reason"].startswith(f"auto_bypass_retest:{bypass_id},"), flow)
        self.events_after(before, "auto_bypass", step="renewed", id=bypass_id)
        self.assert_through(self.curl())

        # Expired again, and the device now takes our certificate (say, the CA
        # was installed): the re-test passes and the bypass ends.
        self.wait_expired(bypass_id)
        before = len(self.gateway.events())
        self.assert_through(self.curl(pinned=False))
        self.flow_after(before, action="inspect")
        ended = self.events_after(before, "auto_bypass", step="ended", id=bypass_id)
        self.assertEqual(ended["why"], "retest_passed")
        self.assertEqual(self.listing()["auto_bypasses"], [])
        # Back to counting from zero: one reject is inspected and bypasses nothing.
        again = self.reject()
        self.assertNotIn("auto_bypass", again)
        self.assertNotIn("retest", again)

    def wait_expired(self, bypass_id: str, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            states = {b["id"]: b["state"] for b in self.listing()["auto_bypasses"]}
            if states.get(bypass_id) == "expired_retesting":
                return
            self.assertLess(time.monotonic(), deadline, f"never expired: {states}")
            time.sleep(0.5)


class SecurityDeltaLabTest(LabTestCase):
    def setUp(self) -> None:
        self.lab = Lab(new_lab_id(), sites=plan.core_sites() + (plan.site(STAPLED),))
        self.lab.up()
        self.addCleanup(self.lab.down)
        self.gateway = self.lab.start_gateway()

    def flow_event(self, before: int, sni: str) -> dict:
        event = None
        deadline = time.monotonic() + 5
        while event is None and time.monotonic() < deadline:
            event = next((e for e in self.gateway.events()[before:]
                          if e.get("type") == "flow" and e.get("sni") == sni), None)
            time.sleep(0.05)
        self.assertIsNotNone(event, self.lab.diagnostics())
        return event

    def s_client(self, site: str, *options: str) -> dict:
        """openssl s_client through the gateway, and its flow event. Bytes, not
        text: an h2 server's SETTINGS frame is printed as it comes."""
        before = len(self.gateway.events())
        argv = ["openssl", "s_client", "-connect", f"{plan.site_address(site, 4)}:443",
                "-servername", site, *options]
        proc = subprocess.run(self.lab.topology.ns_argv("client", argv), input=b"",
                              capture_output=True, timeout=30)
        output = (proc.stdout + proc.stderr).decode(errors="replace")
        self.assertRegex(output, r"New, TLSv1\.[23], Cipher is ", output[-2000:])
        return self.flow_event(before, site)

    def test_flow_events_carry_ja4_and_what_inspection_weakened(self):
        # The server staples a good OCSP response; the client asked for one
        # (-status) and the gateway does not staple toward clients.
        flow = self.s_client(STAPLED, "-status")
        self.assertEqual(flow["action"], "inspect", flow)
        self.assertRegex(flow["ja4"], JA4_RE)
        self.assertEqual(flow["security_delta"],
                         {"ocsp_stapling": {"without_inspection": "stapled",
                                            "with_inspection": "none"}}, flow)
        # No staple upstream, and one asked for: nothing was lost.
        flow = self.s_client(GOOD, "-status")
        self.assertNotIn("security_delta", flow)
        # The client prefers a protocol the gateway does not relay.
        flow = self.s_client(GOOD, "-alpn", "acme-tls/1,h2")
        self.assertEqual(flow["security_delta"],
                         {"alpn": {"without_inspection":
                                   "acme-tls/1 (offered by the client, not relayed)",
                                   "with_inspection": "h2"}}, flow)
        # The JA4 follows the ClientHello: the first ALPN value's first and
        # last characters, "00" without ALPN; the same hashes otherwise.
        self.assertEqual(flow["ja4"][8:10], "a1")
        no_alpn = self.s_client(GOOD)
        self.assertEqual(no_alpn["ja4"][8:10], "00")
        self.assertEqual(no_alpn["ja4"][11:], flow["ja4"][11:], "same cipher and extension hashes")
