"""Per-request policy on inspected flows (DESIGN.md §4a), through the HTTP
layer with real clients: a rule with `url` / `method` blocks only the
matching requests with the page naming the rule (HTTP/1.1 and h2) and the
upstream (nginx's access log) never sees them, while other requests to the
same host pass; a threat-listed URL is blocked per request with the page
naming the list and a `threat` event; a block page answering an HTTP/1.1
upload reads the small body and keeps the connection for the next request;
a reload that lists a new URL applies
to the next request of a connection already open, which stays open; and a
reload (SIGHUP) that brings the first URL rule and the first threat list to a
gateway that had none applies both to a connection opened before it.
"""

import os
import signal
import time
import unittest

import lab_sites as plan
from lab_case import LabTestCase
from lab_gateway import LAB_RULES
from lab_service import Ctl, HeldConnection

GOOD = "good.lab.test"
OTHER = "mixed.lab.test"

# curl's default (h2), then HTTP/1.1.
HTTP1_CHOICES = (False, True)

REQUEST_RULES = LAB_RULES + (
    {"name": "no-admin", "action": "block", "url": f"{GOOD}/admin/*"},
    {"name": "no-post", "action": "block", "method": "POST", "sni": OTHER},
)


class RequestPolicyTest(LabTestCase):
    def requests_seen(self, site, fragment):
        return [line for line in self.lab.nginx.access_lines(site) if fragment in line]

    def test_url_and_method_rules_block_only_matching_requests(self):
        gateway = self.lab.start_gateway(rules=REQUEST_RULES)
        for http1 in HTTP1_CHOICES:
            with self.subTest(http1=http1):
                blocked = self.curl(GOOD, 4, gateway.root_ca, http1=http1, path="/admin/users")
                self.assertEqual(blocked.http_code, "403", blocked.describe())
                self.assertIn("Blocked by rule <strong>no-admin</strong>", blocked.body)
                passed = self.curl(GOOD, 4, gateway.root_ca, http1=http1, path="/catalog")
                self.assert_body(passed, GOOD)
                posted = self.curl(OTHER, 4, gateway.root_ca, http1=http1, method="POST")
                self.assertEqual(posted.http_code, "403", posted.describe())
                self.assertIn("Blocked by rule <strong>no-post</strong>", posted.body)
                self.assert_body(self.curl(OTHER, 4, gateway.root_ca, http1=http1), OTHER)
        self.assertEqual(self.requests_seen(GOOD, "/admin"), [], "a blocked request went upstream")
        self.assertEqual(len(self.requests_seen(GOOD, "/catalog")), len(HTTP1_CHOICES))
        self.assertEqual(self.requests_seen(OTHER, "POST"), [], "a blocked POST went upstream")
        rules = Ctl(gateway).json("rules", "list")["rules"]
        by_name = {r["name"]: r for r in rules}
        self.assertEqual(by_name["no-admin"]["url"], [f"{GOOD}/admin/*"])
        self.assertTrue(by_name["no-admin"]["per_request"])
        self.assertIn("per request", Ctl(gateway).run("rules", "list").stdout)

    def test_a_blocked_http1_upload_keeps_the_connection_for_the_next_request(self):
        """curl POSTs a small body to a blocked URL, then GETs another path
        with --next: the page answers the POST, its body is read and dropped
        (never sent upstream), and the GET reuses the connection."""
        gateway = self.lab.start_gateway(rules=REQUEST_RULES)
        address = plan.site_address(GOOD, 4)

        def transfer(path, *extra):
            return ["-sS", "--max-time", "15", "--http1.1", "--cacert", str(gateway.root_ca),
                    "--resolve", f"{GOOD}:443:{address}", "-o", "/dev/null",
                    "-w", r"%{http_code} %{num_connects}\n", *extra, f"https://{GOOD}{path}"]

        argv = (["curl"] + transfer("/admin/upload", "--data-binary", "x" * 2000,
                                    "-H", "Expect:")
                + ["--next"] + transfer("/catalog"))
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=40)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.split(), ["403", "1", "200", "0"],
                         "the blocked upload closed the connection")
        self.assertEqual(self.requests_seen(GOOD, "/admin"), [], "a blocked request went upstream")
        self.assertEqual(len(self.requests_seen(GOOD, "/catalog")), 1)

    def test_threat_listed_url_is_blocked_per_request_and_reload_applies_to_open_connections(self):
        list_file = self.lab.gateway.dir / "urlhaus.txt"
        list_file.parent.mkdir(parents=True, exist_ok=True)
        list_file.write_text(f"http://{GOOD}/malware/\n")
        gateway = self.lab.start_gateway(
            threat_lists=[{"name": "urlhaus", "file": str(list_file), "format": "urls"}])
        ctl = Ctl(gateway)
        for http1 in HTTP1_CHOICES:
            with self.subTest(http1=http1):
                blocked = self.curl(GOOD, 4, gateway.root_ca, http1=http1,
                                    path="/malware/dropper.exe?id=7")
                self.assertEqual(blocked.http_code, "403", blocked.describe())
                self.assertIn("threat list <strong>urlhaus</strong>", blocked.body)
                self.assertNotIn("dropper", blocked.body)
                self.assert_body(self.curl(GOOD, 4, gateway.root_ca, http1=http1,
                                           path="/clean/app.js"), GOOD)
        self.assertEqual(self.requests_seen(GOOD, "/malware"), [])
        event = gateway.wait_event(lambda e: e.get("type") == "threat"
                                   and e.get("stage") == "request")
        self.assertIsNotNone(event, self.lab.diagnostics())
        self.assertEqual((event["list"], event["entry"], event["sni"]),
                         ("urlhaus", f"{GOOD}/malware/", GOOD), event)
        self.assertEqual(event["url"], f"https://{GOOD}/malware/dropper.exe?id=7")

        held = HeldConnection(self.lab.topology, GOOD)
        self.addCleanup(held.close)
        self.assertEqual(held.get(path="/later/file.zip"), f"site={GOOD}\n")
        list_file.write_text(f"http://{GOOD}/malware/\n{GOOD}/later/\n")
        ctl.run("reload")
        self.assertIn("threat list <strong>urlhaus</strong>", held.get(path="/later/file.zip"))
        self.assertEqual(held.get(path="/clean/app.js"), f"site={GOOD}\n",
                         "the connection did not survive the reload and the blocked request")
        self.assertEqual(len(self.requests_seen(GOOD, "/later")), 1)
        self.assertEqual(ctl.json("threats")["lists"][0]["request_hits"], len(HTTP1_CHOICES) + 1)

    def test_sighup_brings_new_url_rules_and_threat_lists_to_open_and_new_connections(self):
        """The gateway starts with no per-request rule and no threat list; a
        connection opened then sees both after a SIGHUP, and stays open."""
        gateway = self.lab.start_gateway()
        ctl = Ctl(gateway)
        held = HeldConnection(self.lab.topology, GOOD)
        self.addCleanup(held.close)
        self.assertEqual(held.get(path="/admin/before"), f"site={GOOD}\n")
        self.assertEqual(held.get(path="/listed/before"), f"site={GOOD}\n")

        list_file = gateway.dir / "late-list.txt"
        list_file.write_text(f"# added while the gateway runs\n{GOOD}/listed/\n")
        gateway.rules = REQUEST_RULES
        gateway.threat_lists = [{"name": "late", "file": str(list_file), "format": "urls"}]
        gateway.write_config()
        reloads = ctl.json("stats")["control"]["reloads"]
        os.kill(gateway.pid, signal.SIGHUP)
        deadline = time.monotonic() + 10
        while ctl.json("stats")["control"]["reloads"] == reloads:
            self.assertLess(time.monotonic(), deadline, f"no reload\n{gateway.log_tail()}")
            time.sleep(0.05)

        self.assertIn("Blocked by rule <strong>no-admin</strong>", held.get(path="/admin/after"))
        self.assertIn("threat list <strong>late</strong>", held.get(path="/listed/after"))
        self.assertEqual(held.get(path="/clean"), f"site={GOOD}\n",
                         "the reload or the blocked requests dropped the connection")
        fresh = self.curl(GOOD, 4, gateway.root_ca, http1=False, path="/admin/fresh")
        self.assertEqual(fresh.http_code, "403", fresh.describe())
        self.assertIn("Blocked by rule <strong>no-admin</strong>", fresh.body)
        self.assertEqual([p for p in ("/admin/before", "/admin/after", "/admin/fresh",
                                      "/listed/before", "/listed/after")
                          if self.requests_seen(GOOD, p)], ["/admin/before", "/listed/before"])


if __name__ == "__main__":
    unittest.main()
