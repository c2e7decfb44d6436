"""The active HTTP layer on inspected flows (DESIGN.md §4a; issue 12, items 1
and 2), HTTP/1.1 with real clients: hand-written requests over TLS from the
client namespace (lab_http_client.py) and curl, through the gateway, to
nginx and to a scripted upstream (lab_http_peer.py) that answers each
request with the bytes it received.

- request-smuggling shapes are answered 400 by the gateway, never reach the
  upstream, close the connection and are logged and counted;
- a Host naming another site is answered 421 on a reused connection, never
  reaches the upstream, and is logged as misdirected;
- keep-alive and pipelining (answers in order), Expect: 100-continue and a
  WebSocket upgrade (relayed as it is after the 101) work through the layer;
- a flow that is not HTTP is relayed by default and refused with
  non_http = "block".
"""

import json
import pathlib
import sys
import time
import unittest

import lab_sites as plan
from lab import Lab
from lab_case import LabTestCase, new_lab_id
from lab_service import Ctl

PEER = "peer.lab.test"
NGINX_SITE = "good.lab.test"
CLIENT = str(pathlib.Path(__file__).with_name("lab_http_client.py"))


def bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


class HttpLayerTest(LabTestCase):
    settings = None

    def setUp(self):
        # The core lab plus the scripted upstream.
        self.lab = Lab(new_lab_id(), sites=plan.core_sites() + plan.HTTP_LAYER_SITES)
        self.lab.up()
        self.addCleanup(self.lab.down)
        self.gateway = self.lab.start_gateway(settings=self.settings)
        self.ctl = Ctl(self.gateway)

    # --- helpers -------------------------------------------------------------------

    def raw(self, *sends: bytes, site: str = PEER, alpn: str | None = "http/1.1",
            wait: float = 1.0) -> dict:
        """Sends each of `sends` in turn on one TLS connection to `site`."""
        argv = [sys.executable, CLIENT, "--connect", f"{bracket(plan.site_v4(site))}:443",
                "--sni", site, "--ca", str(self.gateway.root_ca), "--wait", str(wait)]
        if alpn:
            argv += ["--alpn", alpn]
        for i, s in enumerate(sends):
            if len(s) > 16384:  # too long for a command line
                path = self.lab.dir / f"send-{time.monotonic_ns()}-{i}.bin"
                path.write_bytes(s)
                argv += ["--send", f"file:{path}"]
            else:
                argv += ["--send", s.hex()]
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        result = json.loads(proc.stdout)
        self.assertIsNone(result["error"], result)
        return result

    def peer_requests(self) -> list[str]:
        return [r["request"] for r in self.lab.upstreams.records(PEER) if "request" in r]

    def http_events(self, count: int, **match) -> list[dict]:
        def mine():
            return [e for e in self.gateway.events() if e.get("type") == "http"
                    and all(e.get(k) == v for k, v in match.items())]
        deadline = time.monotonic() + 5
        while len(mine()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return mine()

    def stats(self) -> dict:
        return self.ctl.json("stats")["terminator"]


class Http1RefusalsTest(HttpLayerTest):
    SHAPES = {
        "content_length_with_transfer_encoding":
            b"POST / HTTP/1.1\r\nHost: peer.lab.test\r\nContent-Length: 6\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n"
            b"Host: peer.lab.test\r\n\r\n",
        "repeated_content_length":
            b"POST / HTTP/1.1\r\nHost: peer.lab.test\r\nContent-Length: 3\r\n"
            b"Content-Length: 30\r\n\r\nabc",
        "bad_transfer_encoding":
            b"POST / HTTP/1.1\r\nHost: peer.lab.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        "bad_field_name":
            b"POST / HTTP/1.1\r\nHost: peer.lab.test\r\nTransfer-Encoding : chunked\r\n\r\n",
        "obs_fold": b"GET / HTTP/1.1\r\nHost: peer.lab.test\r\nX-A: 1\r\n folded\r\n\r\n",
        "bare_lf": b"GET / HTTP/1.1\nHost: peer.lab.test\n\n",
        "bare_cr": b"GET / HTTP/1.1\r\nHost: peer.lab.test\rX: 1\r\n\r\n",
        "control_character": b"GET / HTTP/1.1\r\nHost: peer.lab.test\r\nX-A: a\x00b\r\n\r\n",
        "head_too_long": b"GET / HTTP/1.1\r\nHost: peer.lab.test\r\nX-Big: " + b"x" * 70000
                         + b"\r\n\r\n",
    }

    def test_smuggling_shapes_are_answered_400_and_never_forwarded(self):
        for reason, request in self.SHAPES.items():
            with self.subTest(shape=reason):
                got = self.raw(request)
                self.assertTrue(got["received"].startswith("HTTP/1.1 400 Bad Request\r\n"), got)
                self.assertTrue(got["closed"], got)
        # A bad chunk size: the head went on, the bad framing did not.
        got = self.raw(b"POST /c HTTP/1.1\r\nHost: peer.lab.test\r\nTransfer-Encoding: chunked"
                       b"\r\n\r\n", b"zz\r\nhello\r\n0\r\n\r\n")
        self.assertIn("400 Bad Request", got["received"], got)
        self.assertTrue(got["closed"], got)

        self.assertEqual(self.peer_requests(), [], "a refused request reached the upstream")
        events = self.http_events(len(self.SHAPES) + 1, outcome="bad_request")
        self.assertEqual(sorted(e["detail"] for e in events),
                         sorted(list(self.SHAPES) + ["bad_chunk_size"]), events)
        self.assertEqual(self.stats()["http_bad_requests"], len(self.SHAPES) + 1)


class Http1AuthorityTest(HttpLayerTest):
    def test_another_host_on_a_reused_connection_is_answered_421(self):
        address = plan.site_v4(NGINX_SITE)
        common = ["-sS", "--max-time", "20", "--http1.1", "--cacert", str(self.gateway.root_ca),
                  "--resolve", f"{NGINX_SITE}:443:{address}", "-o", "/dev/null",
                  "-w", r"%{response_code} %{num_connects}\n"]
        argv = (["curl"] + common + [f"https://{NGINX_SITE}/mine"] + ["--next"] + common
                + ["-H", "Host: bypass.lab.test", f"https://{NGINX_SITE}/theirs"])
        before = len(self.lab.nginx.access_lines(NGINX_SITE))
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=40)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.split(), ["200", "1", "421", "0"],
                         "the second request reuses the connection and gets 421")
        time.sleep(0.3)
        paths = [line.split('"')[3].split()[1]
                 for line in self.lab.nginx.access_lines(NGINX_SITE)[before:]]
        self.assertEqual(paths, ["/mine"], "the misdirected request reached nginx")
        [event] = self.http_events(1, outcome="misdirected")
        self.assertEqual((event["host"], event["path"], event["status"], event["sni"]),
                         ("bypass.lab.test", "/theirs", 421, NGINX_SITE), event)
        flow = self.gateway.wait_event(lambda e: e.get("type") == "flow"
                                       and e.get("client") == event["client"])
        self.assertIn("http_misdirected", flow["reason"], flow)

    def test_the_sni_in_another_case_with_a_trailing_dot_and_port_is_the_same_host(self):
        got = self.raw(b"GET /a HTTP/1.1\r\nHost: PEER.Lab.Test.:443\r\n\r\n")
        self.assertTrue(got["received"].startswith("HTTP/1.1 200 OK\r\n"), got)
        self.assertFalse(got["closed"], got)


class Http1ExchangesTest(HttpLayerTest):
    def test_keep_alive_and_pipelined_requests_are_answered_in_order(self):
        pipelined = b"".join(b"GET /%d HTTP/1.1\r\nHost: peer.lab.test\r\n\r\n" % i
                             for i in range(1, 4))
        got = self.raw(pipelined, b"POST /4 HTTP/1.1\r\nHost: peer.lab.test\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n")
        answers = got["received"].split("HTTP/1.1 200 OK\r\n")[1:]
        self.assertEqual(len(answers), 4, got)
        for i, answer in enumerate(answers, start=1):
            self.assertIn(f"GET /{i} HTTP/1.1" if i < 4 else "POST /4 HTTP/1.1", answer)
        self.assertIn("3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", answers[3], "chunked body and trailer")
        self.assertFalse(got["closed"], got)
        events = self.http_events(4, sni=PEER)
        self.assertEqual([e["path"] for e in events], ["/1", "/2", "/3", "/4"], events)
        self.assertTrue(all(e["outcome"] == "complete" for e in events), events)

    def test_expect_100_continue(self):
        head = (b"PUT /up HTTP/1.1\r\nHost: peer.lab.test\r\nContent-Length: 5\r\n"
                b"Expect: 100-continue\r\n\r\n")
        got = self.raw(head, b"hello")
        self.assertTrue(got["received"].startswith("HTTP/1.1 100 Continue\r\n\r\n"
                                                   "HTTP/1.1 200 OK\r\n"), got)
        self.assertTrue(got["received"].endswith("Expect: 100-continue\r\n\r\nhello"), got)

    def test_websocket_is_relayed_after_the_101(self):
        upgrade = (b"GET /ws HTTP/1.1\r\nHost: peer.lab.test\r\nConnection: Upgrade\r\n"
                   b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        frame = bytes([0x81, 0x85, 1, 2, 3, 4]) + bytes(b ^ k for b, k in zip(b"hello", b"\x01\x02\x03\x04\x01"))
        # After the switch even bytes that are not HTTP at all pass.
        got = self.raw(upgrade, frame, b"\x00\x01 not http \r\n\r\n")
        self.assertTrue(got["received"].startswith("HTTP/1.1 101 Switching Protocols\r\n"), got)
        self.assertIn("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", got["received"])
        self.assertTrue(got["received"].endswith("\r\n\r\n" + frame.decode("latin-1")
                                                 + "\x00\x01 not http \r\n\r\n"), got)
        [event] = self.http_events(1, path="/ws")
        self.assertEqual((event["status"], event["outcome"]), (101, "upgrade"), event)


class NonHttpRelayedTest(HttpLayerTest):
    def test_a_flow_that_is_not_http_is_relayed_by_default(self):
        got = self.raw(b"\x00\x01HELLO not http\n", alpn=None)
        self.assertEqual(got["received"], "\x00\x01HELLO not http\n", got)
        self.assertEqual(self.stats()["non_http_refused"], 0)


class NonHttpBlockedTest(HttpLayerTest):
    settings = {"gateway": {"non_http": "block"}}

    def test_a_flow_that_is_not_http_is_refused_with_non_http_block(self):
        got = self.raw(b"\x00\x01HELLO not http\n", alpn=None)
        self.assertEqual(got["received"], "", got)
        self.assertTrue(got["closed"], got)
        flow = self.gateway.wait_event(lambda e: e.get("type") == "flow"
                                       and e.get("sni") == PEER)
        self.assertIsNotNone(flow, self.lab.diagnostics())
        self.assertEqual(flow["action"], "block", flow)
        self.assertIn("non_http_blocked", flow["reason"], flow)
        self.assertEqual(self.stats()["non_http_refused"], 1)
        # HTTP on the same gateway is not affected.
        got = self.raw(b"GET / HTTP/1.1\r\nHost: peer.lab.test\r\n\r\n", alpn=None)
        self.assertTrue(got["received"].startswith("HTTP/1.1 200 OK\r\n"), got)


if __name__ == "__main__":
    unittest.main()
