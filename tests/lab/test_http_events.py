"""`http` events (DESIGN.md §7): curl in the client namespace fetches an
inspected site over HTTP/1.1 and over HTTP/2, several requests on one
connection (GET with a query, GET, HEAD, POST with a body). Each request must
appear as one `http` event whose method, host, path, status and response
bytes agree with what nginx logged, on the flow its `flow` event names, and
`tlsgatectl events --type http` must show them.
"""

import re
import time
import unittest

import lab_sites as plan
from lab_case import LabTestCase, server_matches
from lab_service import Ctl

SITE = "good.lab.test"
UPLOAD_BYTES = 1000

# (method, path, request body bytes), in the order curl sends them.
REQUESTS = (
    ("GET", "/first?x=1&y=two", 0),
    ("GET", "/second/page.html", 0),
    ("HEAD", "/head", 0),
    ("POST", "/upload?kind=bin", UPLOAD_BYTES),
)

# lab_nginx.py's format: $remote_addr "$ssl_server_name" $server_protocol
# $ssl_protocol "$request" $status $body_bytes_sent $ssl_cipher
ACCESS_LINE = re.compile(r'^\S+ "[^"]*" (\S+) \S+ "(\S+) (\S+) \S+" (\d+) (\d+) ')


def bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


class HttpEventsTest(LabTestCase):
    def setUp(self):
        super().setUp()
        self.gateway = self.lab.start_gateway()
        self.ctl = Ctl(self.gateway)
        self.upload = self.lab.dir / "upload.bin"
        self.upload.write_bytes(b"u" * UPLOAD_BYTES)

    def fetch(self, family: int, protocol_flag: str) -> list[str]:
        """All of REQUESTS in one curl run (one connection, reused); returns
        curl's per-transfer "version code uploaded connects" lines."""
        address = plan.site_address(SITE, family)
        common = ["-sS", "--max-time", "20", protocol_flag, "--cacert", str(self.gateway.root_ca),
                  "--resolve", f"{SITE}:443:{bracket(address)}",
                  "-w", r"%{http_version} %{response_code} %{size_upload} %{num_connects}\n"]
        argv = ["curl"]
        for i, (method, path, body) in enumerate(REQUESTS):
            if i > 0:
                argv.append("--next")
            argv += common + ["-o", "/dev/null"]
            if method == "HEAD":
                argv.append("--head")
            elif body:
                argv += ["--data-binary", f"@{self.upload}"]
            argv.append(f"https://{SITE}{path}")
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=40)
        self.assertEqual(proc.returncode, 0, f"curl: {proc.stderr}\n{' '.join(argv)}")
        return proc.stdout.splitlines()

    def nginx_requests(self, before: int) -> list[tuple]:
        """(protocol, method, path, status, body bytes sent) of the new access lines."""
        deadline = time.monotonic() + 5
        while len(self.lab.nginx.access_lines(SITE)) < before + len(REQUESTS):
            self.assertLess(time.monotonic(), deadline, "nginx did not log every request")
            time.sleep(0.05)
        found = []
        for line in self.lab.nginx.access_lines(SITE)[before:]:
            m = ACCESS_LINE.match(line)
            self.assertIsNotNone(m, f"unexpected access line {line!r}")
            protocol, method, path, status, sent = m.groups()
            found.append((protocol, method, path, int(status), int(sent)))
        return found

    def http_events(self, protocol: str) -> list[dict]:
        def mine():
            return [e for e in self.gateway.events()
                    if e.get("type") == "http" and e.get("sni") == SITE
                    and e.get("protocol") == protocol]
        deadline = time.monotonic() + 5
        while len(mine()) < len(REQUESTS) and time.monotonic() < deadline:
            time.sleep(0.05)
        events = mine()
        self.assertEqual(len(events), len(REQUESTS),
                         f"expected one http event per request\n{self.lab.diagnostics()}")
        return events

    def check(self, family: int, protocol_flag: str, protocol: str, nginx_protocol: str):
        before = len(self.lab.nginx.access_lines(SITE))
        transfers = self.fetch(family, protocol_flag)
        self.assertEqual(len(transfers), len(REQUESTS), transfers)
        logged = self.nginx_requests(before)
        events = self.http_events(protocol)

        # What nginx logged is what the events say, request for request.
        self.assertEqual({entry[0] for entry in logged}, {nginx_protocol}, logged)
        self.assertEqual(
            sorted((e["method"], e["path"], e.get("status"), e["response_bytes"]) for e in events),
            sorted((method, path, status, sent) for _, method, path, status, sent in logged))
        uploads = {path: body for _, path, body in REQUESTS}
        for e in events:
            with self.subTest(path=e["path"]):
                self.assertEqual(e["host"], SITE, e)
                self.assertEqual(e["outcome"], "complete", e)
                self.assertEqual(e["request_bytes"], uploads[e["path"]], e)
                self.assertTrue(server_matches(e["server"], plan.site_address(SITE, family)), e)
                self.assertEqual("stream" in e, protocol == "h2", e)
        get = next(e for e in events if e["method"] == "GET")
        self.assertEqual(get["response_bytes"], len(f"site={SITE}\n"), get)
        head = next(e for e in events if e["method"] == "HEAD")
        self.assertEqual(head["response_bytes"], 0, head)

        # Several requests on one connection: one flow, whose `flow` event
        # names the same client and server.
        reused = [t for t in transfers if t.split()[-1] == "0"]
        self.assertGreaterEqual(len(reused), 1, f"curl opened a connection per request: {transfers}")
        connections = {(e["client"], e["server"]) for e in events}
        self.assertEqual(len(connections), len(REQUESTS) - len(reused), connections)
        for client, server in connections:
            flow = self.gateway.wait_event(
                lambda e: e.get("type") == "flow" and e.get("client") == client
                and e.get("server") == server)
            self.assertIsNotNone(flow, f"no flow event for {client} -> {server}\n"
                                 + self.lab.diagnostics())
            self.assertEqual(flow["action"], "inspect", flow)
            self.assertEqual(flow.get("alpn"), protocol, flow)

        # tlsgatectl shows exactly these.
        shown = [line for line in self.ctl.run("--json", "events", "--type", "http")
                 .stdout.splitlines() if f'"protocol":"{protocol}"' in line]
        self.assertEqual(len(shown), len(REQUESTS), shown)
        human = self.ctl.run("events", "--type", "http").stdout
        self.assertIn("/second/page.html", human)
        stats = self.ctl.json("stats")["terminator"]
        self.assertGreaterEqual(stats["http_events"], len(REQUESTS), stats)
        self.assertEqual(stats["http_unparsed"], 0, stats)

    def test_http1(self):
        self.check(4, "--http1.1", "http/1.1", "HTTP/1.1")

    def test_http2(self):
        self.check(6, "--http2", "h2", "HTTP/2.0")


if __name__ == "__main__":
    unittest.main()
