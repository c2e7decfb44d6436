"""Antivirus over ICAP in the lab (../shared/DESIGN.md §4a): c-icap's
virus_scan over clamd in the router namespace, tlsgated configured with an
[[icap]] service. Each worker asks the service for its OPTIONS at start and
keeps the connection; status shows the service, metrics count scans."""

import time
import unittest

from lab_av import AvService
from lab_case import LabTestCase
from lab_service import Ctl, scrape


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


if __name__ == "__main__":
    unittest.main()
