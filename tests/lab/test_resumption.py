"""Client-facing session resumption (issue 17): `openssl s_client` keeps the
gateway's ticket (-sess_out) and offers it on its next connection
(-sess_in). It resumes (TLS 1.3 and 1.2) while nothing its session is bound
to changed, and the flow events say so in `client_resumed`; every resumed
connection still reaches nginx through a validated upstream session. After
a CA rotation, or once another rule decides the flow, the old ticket gets a
full handshake.
"""

import re
import time

import lab_sites as plan
from lab_case import LabTestCase
from lab_probe import handshake
from lab_service import Ctl

SITE = "good.lab.test"
REQUEST = f"GET / HTTP/1.1\r\nHost: {SITE}\r\nConnection: close\r\n\r\n"
SESSION_RE = re.compile(r"^(New|Reused), (TLSv1\.[23])", re.M)


class ResumptionTest(LabTestCase):
    def setUp(self):
        super().setUp()
        self.gateway = self.lab.start_gateway()
        self.ctl = Ctl(self.gateway)
        self.session = self.lab.dir / "client-session.pem"

    def connect(self, version: str, resume: bool) -> str:
        """One s_client connection and request; returns "New" or "Reused"
        and leaves the session it ended with (and its ticket) in self.session."""
        before = len(self.lab.nginx.access_lines(SITE))
        options = ["-ign_eof", "-tls1_3" if version == "1.3" else "-tls1_2",
                   "-CAfile", str(self.lab.client_bundle()), "-sess_out", str(self.session)]
        if resume:
            options += ["-sess_in", str(self.session)]
        hs = handshake(self.lab.topology, plan.site_address(SITE, 4), SITE, options=options,
                       input_text=REQUEST)
        found = SESSION_RE.search(hs.output)
        self.assertIsNotNone(found, hs.describe())
        self.assertEqual(found.group(2), f"TLSv{version}", hs.describe())
        self.assertIn(f"site={SITE}", hs.output, hs.describe())
        # Resumed or not, the request went through a validated upstream session.
        self.assert_access_logged(SITE, before)
        return found.group(1)

    def flow_events(self) -> list[dict]:
        return [e for e in self.gateway.events() if e.get("type") == "flow"
                and e.get("sni") == SITE]

    def last_flow(self, count: int) -> dict:
        deadline = time.monotonic() + 5
        while len(self.flow_events()) < count:
            self.assertLess(time.monotonic(), deadline, self.lab.diagnostics())
            time.sleep(0.05)
        flow = self.flow_events()[count - 1]
        self.assertEqual(flow["action"], "inspect", flow)
        return flow

    def test_tickets_resume_tls13_and_tls12(self):
        flows = 0
        for version in ("1.3", "1.2"):
            with self.subTest(version=version):
                self.assertEqual(self.connect(version, resume=False), "New")
                flows += 1
                self.assertIs(self.last_flow(flows)["client_resumed"], False)
                for _ in range(2):
                    self.assertEqual(self.connect(version, resume=True), "Reused")
                    flows += 1
                    self.assertIs(self.last_flow(flows)["client_resumed"], True)

    def test_ca_rotation_and_rule_change_invalidate_tickets(self):
        self.assertEqual(self.connect("1.3", resume=False), "New")
        self.assertEqual(self.connect("1.3", resume=True), "Reused")

        # The default CA rotates: the new generation signs; old tickets are void.
        self.ctl.json("ca", "stage")
        self.ctl.json("ca", "activate")
        deadline = time.monotonic() + 15
        while {c["id"]: c["state"] for c in self.ctl.json("ca", "list")["cas"]}.get(
                "default.2") != "active":
            self.assertLess(time.monotonic(), deadline, "default.2 not activated")
            time.sleep(0.2)
        self.gateway.export_root_ca(self.ctl.binary)  # the client trusts the new root too
        self.assertEqual(self.connect("1.3", resume=True), "New", "resumed across a rotation")
        self.assertEqual(self.connect("1.3", resume=True), "Reused")

        # Another rule now decides the flow (still inspected): old tickets are void.
        self.ctl.run("rules", "add", "--name", "inspect-good", "--action", "inspect",
                     "--sni", SITE, "--position", "1")
        self.assertEqual(self.connect("1.3", resume=True), "New", "resumed across a rule change")
        self.assertEqual(self.last_flow(len(self.flow_events()))["rule"], "inspect-good")
        self.assertEqual(self.connect("1.3", resume=True), "Reused")
