"""Antivirus over ICAP in the lab (../shared/DESIGN.md §4a): c-icap's
virus_scan over clamd in the router namespace, tlsgated configured with an
[[icap]] service. Each worker asks the service for its OPTIONS at start and
keeps the connection; status shows the service, metrics count scans."""

import time
import unittest

import lab_sites as plan
from lab import Lab
from lab_av import EICAR, AvService
from lab_case import LabTestCase, new_lab_id
from lab_service import Ctl, scrape
from test_http_layer import HttpLayerTest


class IcapTest(LabTestCase):
    def setUp(self):
        super().setUp()
        self.av = AvService(self.lab.topology, self.lab.dir / "av")
        self.addCleanup(self.av.stop)
        self.av.start()
        self.lab.gateway.icap = [{"name": "av", "url": self.av.url, "timeout": "5s"}]
        self.gateway = self.lab.start_gateway()
        self.ctl = Ctl(self.gateway)

    def icap_status(self, predicate, timeout_s=10.0):
        deadline = time.monotonic() + timeout_s
        while True:
            services = self.ctl.json("status")["icap"]
            if predicate(services) or time.monotonic() > deadline:
                return services
            time.sleep(0.2)

    def test_status_shows_the_service_up_with_its_istag(self):
        services = self.icap_status(lambda s: s and s[0].get("istag"))
        self.assertEqual(len(services), 1, services)
        av = services[0]
        self.assertEqual(av["name"], "av")
        self.assertEqual(av["url"], "icap://127.0.0.1:1344/avscan")
        self.assertTrue(av["up"], av)
        self.assertTrue(av["istag"].startswith("CI"), av)
        self.assertGreaterEqual(av["connections"], 1, "the OPTIONS connection is kept")
        human = self.ctl.run("status").stdout
        self.assertIn("icap av", human)
        self.assertIn("up, respmod icap://127.0.0.1:1344/avscan", human)
        _, samples = scrape(self.gateway)
        self.assertEqual(samples.get('tlsgate_icap_scans_total{service="av",verdict="clean"}'), 0)
        self.assertIn('tlsgate_icap_scan_duration_seconds_count{service="av"}', samples)


class IcapTrafficTest(HttpLayerTest):
    """Downloads and uploads through the gateway to the scripted upstream
    (which answers each request with the bytes it received, so a request
    carrying the EICAR string gets a response carrying it too)."""

    def setUp(self):
        self.lab = Lab(new_lab_id(), sites=plan.core_sites() + plan.HTTP_LAYER_SITES)
        self.lab.up()
        self.addCleanup(self.lab.down)
        self.av = AvService(self.lab.topology, self.lab.dir / "av")
        self.addCleanup(self.av.stop)
        self.av.start()
        self.lab.gateway.icap = [
            {"name": "av", "url": self.av.url, "method": "respmod", "timeout": "3s"},
            {"name": "upload-av", "url": self.av.url, "method": "reqmod", "timeout": "3s"},
        ]
        self.gateway = self.lab.start_gateway()
        self.ctl = Ctl(self.gateway)

    def icap_events(self, count: int, **match) -> list[dict]:
        def mine():
            return [e for e in self.gateway.events() if e.get("type") == "icap"
                    and all(e.get(k) == v for k, v in match.items())]
        deadline = time.monotonic() + 5
        while len(mine()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return mine()

    def post(self, path: str, body: bytes) -> dict:
        return self.raw(b"POST %s HTTP/1.1\r\nHost: peer.lab.test\r\nContent-Length: %d\r\n"
                        b"Content-Type: application/octet-stream\r\n\r\n" % (path.encode(), len(body))
                        + body, wait=3.0)

    def test_clean_exchange_passes_both_scans(self):
        got = self.raw(b"POST /clean HTTP/1.1\r\nHost: peer.lab.test\r\nContent-Length: 5\r\n\r\n"
                       b"hello", wait=3.0)
        self.assertTrue(got["received"].startswith("HTTP/1.1 200 OK\r\n"), got)
        self.assertTrue(got["received"].endswith("hello"), got)
        up = self.icap_events(1, service="upload-av")
        down = self.icap_events(1, service="av")
        self.assertEqual([e["verdict"] for e in up + down], ["clean", "clean"], up + down)
        self.assertEqual(down[0]["url"], "https://peer.lab.test/clean")

    def test_eicar_upload_is_blocked_and_never_reaches_the_server(self):
        got = self.post("/upload", EICAR)
        received = got["received"]
        self.assertTrue(received.startswith("HTTP/1.1 403"), got)
        self.assertIn("Lab.Eicar.", received)
        self.assertIn("https://peer.lab.test/upload", received)
        self.assertIn("upload-av", received)
        self.assertNotIn(EICAR.decode(), received)
        time.sleep(0.5)
        self.assertFalse([r for r in self.peer_requests() if "/upload" in r],
                         "the upstream saw the infected upload")
        events = self.icap_events(1, service="upload-av", verdict="infected")
        self.assertEqual(len(events), 1, self.gateway.events())
        self.assertTrue(events[0]["threat"].startswith("Lab.Eicar."), events)
        self.assertEqual(events[0]["method"], "reqmod")
        self.assertEqual(events[0]["action"], "block")

    def test_eicar_download_is_replaced_by_the_block_page(self):
        # The upstream echoes the request: the EICAR string in a header comes
        # back in the response body (the GET itself has no body to REQMOD).
        got = self.raw(b"GET /eicar.txt HTTP/1.1\r\nHost: peer.lab.test\r\nX-Payload: " + EICAR
                       + b"\r\n\r\n", wait=3.0)
        received = got["received"]
        self.assertTrue(received.startswith("HTTP/1.1 403"), got)
        self.assertIn("Lab.Eicar.", received)
        self.assertIn("https://peer.lab.test/eicar.txt", received)
        self.assertNotIn(EICAR.decode(), received, "nothing of the infected body")
        events = self.icap_events(1, service="av", verdict="infected")
        self.assertEqual(len(events), 1, self.gateway.events())
        self.assertEqual(events[0]["method"], "respmod")
        self.assertTrue(events[0]["istag"], events)
        _, samples = scrape(self.gateway)
        self.assertEqual(samples.get('tlsgate_icap_scans_total{service="av",verdict="infected"}'),
                         1)

    def test_stopped_service_follows_on_error_block(self):
        self.av.stop_icap()
        got = self.raw(b"GET /x HTTP/1.1\r\nHost: peer.lab.test\r\n\r\n", wait=3.0)
        self.assertTrue(got["received"].startswith("HTTP/1.1 403"), got)
        self.assertIn("could not be scanned", got["received"])
        events = self.icap_events(1, service="av", verdict="error")
        self.assertEqual(len(events), 1, self.gateway.events())
        status = self.ctl.json("status")["icap"]
        self.assertFalse(status[0]["up"], status)


class IcapOnErrorPassTest(IcapTrafficTest):
    """The same lab with on_error = "pass": a dead service lets traffic through."""

    def setUp(self):
        super().setUp()
        self.gateway.icap[0]["on_error"] = "pass"
        self.lab.restart_gateway()
        self.ctl = Ctl(self.gateway)

    def test_stopped_service_follows_on_error_pass(self):
        self.av.stop_icap()
        got = self.raw(b"GET /x HTTP/1.1\r\nHost: peer.lab.test\r\n\r\n", wait=3.0)
        self.assertTrue(got["received"].startswith("HTTP/1.1 200 OK\r\n"), got)
        self.assertIn("GET /x HTTP/1.1", got["received"])
        events = self.icap_events(1, service="av", verdict="error")
        self.assertEqual(len(events), 1, self.gateway.events())
        self.assertEqual(events[0]["action"], "pass")


if __name__ == "__main__":
    unittest.main()
