"""tlsgatectl against a running tlsgated in the lab: status, flows, stats,
rules and bypass edits applied live (kernel maps and terminator, flows in
progress kept, config file rewritten), reload, events, metrics.
"""

import datetime
import json
import os
import selectors
import time
import unittest

import lab_sites as plan
from lab_case import LabTestCase, server_matches
from lab_service import Ctl, HeldConnection, scrape

GOOD = "good.lab.test"


class CtlTest(LabTestCase):
    def setUp(self):
        super().setUp()
        self.gateway = self.lab.start_gateway()
        self.ctl = Ctl(self.gateway)
        self.config_before = self.gateway.config.read_text()

    def flow_event(self, site, family, action, rule=None, after=""):
        address = plan.site_address(site, family)
        event = self.gateway.wait_event(
            lambda e: e.get("type") == "flow" and e.get("sni") == site
            and server_matches(e.get("server"), address) and e.get("action") == action
            and (rule is None or e.get("rule") == rule) and e.get("ts", "") >= after)
        self.assertIsNotNone(event, f"no flow event {action}/{rule} for {site}\n"
                             + self.lab.diagnostics())
        return event

    def assert_inspected(self, site, family=4):
        hs = self.handshake(site, family)
        self.assertTrue(hs.completed, hs.describe())
        self.assertTrue(hs.chain[0].issuer_cn.startswith("tlsgate"), hs.chain[0].issuer)

    def assert_blocked(self, site, rule=None):
        """The gateway blocks the next flow to `site` (alert or block page:
        the flow event says which rule decided)."""
        mark = self.now()
        self.handshake(site, 4)
        return self.flow_event(site, 4, "block", rule=rule, after=mark)

    @staticmethod
    def now():
        """As the event log writes "ts"; string order is time order."""
        return datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    # --- status, stats, flows, metrics ------------------------------------------------

    def test_status_stats_flows_and_metrics(self):
        status = self.ctl.json("status")
        self.assertEqual(status["pid"], self.gateway.pid)
        self.assertEqual(status["lan_interfaces"], [self.lab.topology.router_lan_if])
        self.assertEqual(status["rules"], 2)
        self.assertEqual(status["kernel_side"], "installed")
        self.assertEqual(status["paths"]["event_log"], str(self.gateway.event_log))
        self.assertEqual(status["paths"]["control_socket"], str(self.gateway.control_socket))
        human = self.ctl.run("status").stdout
        self.assertIn("kernel side   installed", human)
        self.assertIn(f"config        {self.gateway.config}", human)

        before = self.ctl.json("stats")
        held = HeldConnection(self.lab.topology, GOOD)
        self.addCleanup(held.close)
        self.assertEqual(held.get(), f"site={GOOD}\n")
        flows = self.ctl.json("flows")
        self.assertEqual(flows["workers_not_answering"], 0)
        mine = [f for f in flows["flows"] if server_matches(f["server"],
                                                            plan.site_address(GOOD, 4))]
        self.assertEqual(len(mine), 1, flows)
        self.assertEqual(mine[0]["state"], "relaying")
        self.assertIn("relaying", self.ctl.run("flows").stdout)

        after = self.ctl.json("stats")
        self.assertGreater(after["terminator"]["flows_inspected"],
                           before["terminator"]["flows_inspected"])
        self.assertGreater(after["kernel"]["steered_flows"], before["kernel"]["steered_flows"])
        self.assertGreaterEqual(after["forge_cache"]["misses"] + after["forge_cache"]["hits"], 1)
        self.assertIn("terminator:", self.ctl.run("stats").stdout)

        headers, samples = scrape(self.gateway)
        self.assertIn("Content-Type: text/plain; version=0.0.4", headers)
        self.assertGreaterEqual(samples['tlsgate_flows_total{verdict="inspect"}'], 1)
        self.assertGreaterEqual(samples['tlsgate_kernel_events_total{counter="steered_flows"}'],
                                1)
        self.assertGreaterEqual(samples["tlsgate_forge_cache_misses_total"], 1)
        self.assertEqual(samples["tlsgate_terminator_connections_active"], 1)
        self.assertEqual(samples["tlsgate_rules"], 2)
        self.assertIn('tlsgate_errors_total{class="upstream_tls"}', samples)
        self.assertIn("tlsgate_events_failed_writes_total", samples)

    # --- rules: live, flows kept, file rewritten ------------------------------------------

    def test_rule_add_and_delete_apply_live_without_dropping_flows(self):
        held = HeldConnection(self.lab.topology, GOOD)
        self.addCleanup(held.close)
        self.assertEqual(held.get(), f"site={GOOD}\n")
        self.assert_inspected(GOOD)

        out = self.ctl.run("rules", "add", "--name", "block-good", "--action", "block",
                           "--sni", GOOD, "--position", "1").stdout
        self.assertIn("added rule 'block-good' at position 1", out)
        self.assert_blocked(GOOD, rule="block-good")
        # The flow that was inspected before the change goes on.
        self.assertEqual(held.get(), f"site={GOOD}\n", "the held flow was dropped")
        text = self.gateway.config.read_text()
        self.assertTrue(text.startswith(self.config_before.split("[[rule]]")[0]), text)
        self.assertIn('[[rule]]\nname = "block-good"\naction = "block"\nsni = ["good.lab.test"]',
                      text)
        names = [r["name"] for r in self.ctl.json("rules", "list")["rules"]]
        self.assertEqual(names, ["block-good", "bypass-bypass-site", "block-blocked-site"])

        refused = self.ctl.run("rules", "add", "--name", "bad", "--action", "block",
                               "--sni", "*", check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("would match every name", refused.stderr)
        dup = self.ctl.run("rules", "add", "--name", "block-good", "--action", "block",
                           "--sni", "x.lab.test", check=False)
        self.assertIn("duplicate rule name 'block-good'", dup.stderr)

        self.assertIn("deleted rule 'block-good'",
                      self.ctl.run("rules", "del", "block-good").stdout)
        self.assert_inspected(GOOD)
        self.assertEqual(self.gateway.config.read_text(), self.config_before)
        self.assertEqual(held.get(), f"site={GOOD}\n")
        missing = self.ctl.run("rules", "del", "block-good", check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no rule named 'block-good'", missing.stderr)

    def test_bypass_by_destination_is_decided_in_the_kernel(self):
        address = plan.site_address(GOOD, 4)
        before = self.ctl.json("stats")["kernel"]["bypass_dst_flows"]
        self.ctl.run("bypass", "add", "--dst", address)
        rule = self.ctl.json("bypass", "list")["rules"][0]
        self.assertEqual(rule["name"], f"bypass-dst-{address}")
        self.assertEqual(rule["dst"], [f"{address}/32"])
        self.assertTrue(rule["kernel"], rule)
        self.assertIn("kernel", self.ctl.run("bypass", "list").stdout)
        self.assert_lab_chain(self.handshake(GOOD, 4), GOOD)
        self.assertGreater(self.ctl.json("stats")["kernel"]["bypass_dst_flows"], before)
        self.assert_inspected(GOOD, 6)  # only that v4 address

        self.assertIn(f"deleted rule 'bypass-dst-{address}'",
                      self.ctl.run("bypass", "del", "--dst", address).stdout)
        self.assert_inspected(GOOD, 4)
        self.assertEqual(self.gateway.config.read_text(), self.config_before)

    def test_bypass_by_name(self):
        self.ctl.run("bypass", "add", "--sni", GOOD, "--name", "keep-good")
        for family in (4, 6):
            self.assert_lab_chain(self.handshake(GOOD, family), GOOD)
        self.flow_event(GOOD, 4, "bypass", rule="keep-good")
        none = self.ctl.run("bypass", "del", "--sni", "other.lab.test", check=False)
        self.assertEqual(none.returncode, 1)
        self.ctl.run("bypass", "del", "keep-good")
        hs = self.handshake(GOOD, 4)
        self.assertTrue(hs.completed, "not inspected once the bypass is gone:\n" + hs.describe()
                        + "\nkernel: " + json.dumps(self.ctl.json("stats")["kernel"]))
        self.assertTrue(hs.chain[0].issuer_cn.startswith("tlsgate"), hs.chain[0].issuer)

    # --- reload ---------------------------------------------------------------------------

    def test_reload_good_then_bad_config(self):
        good = self.config_before + ('[[rule]]\nname = "block-good"\naction = "block"\n'
                                     'sni = "good.lab.test"\n')
        self.gateway.config.write_text(good)
        self.assertIn("reloaded: 3 rules", self.ctl.run("reload").stdout)
        self.assert_blocked(GOOD, rule="block-good")

        bad_line = len(good.splitlines()) + 1
        self.gateway.config.write_text(good + "[gateway\n")
        refused = self.ctl.run("reload", check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("reload refused, the running configuration stays", refused.stderr)
        self.assertIn(f"{self.gateway.config}:{bad_line}:", refused.stderr)
        self.assert_blocked(GOOD, rule="block-good")  # the running rules stayed
        status = self.ctl.json("status")
        self.assertEqual(status["rules"], 3)
        self.assertFalse(status["last_reload"]["ok"])
        # A rule edit refuses to touch a file that does not load.
        edit = self.ctl.run("bypass", "add", "--sni", "x.lab.test", check=False)
        self.assertIn("fix the file first", edit.stderr)
        self.assertEqual(self.gateway.config.read_text(), good + "[gateway\n")

        _, samples = scrape(self.gateway)
        self.assertEqual(samples['tlsgate_config_reloads_total{result="ok"}'], 1)
        self.assertEqual(samples['tlsgate_config_reloads_total{result="refused"}'], 1)

    def test_reload_names_what_needs_a_restart_and_reopens_the_event_file(self):
        changed = self.config_before.replace("listen_port = 15443",
                                             'listen_port = 15443\nfail_mode = "closed"\n'
                                             'idle_timeout = "2m"', 1)
        self.assertNotEqual(changed, self.config_before)
        self.gateway.config.write_text(changed)
        # logrotate moves the file away, then reloads: events go to a new file.
        rotated = self.gateway.event_log.with_name("events.jsonl.1")
        self.gateway.event_log.rename(rotated)
        out = self.ctl.run("reload").stdout
        self.assertIn("changed, applied at the next restart (systemctl restart tlsgate): "
                      "gateway.fail_mode gateway.idle_timeout", out)
        self.assertEqual(self.ctl.json("reload")["restart_needed"],
                         ["gateway.fail_mode", "gateway.idle_timeout"])
        self.assertIn("gateway.fail_mode changed: takes effect at the next restart",
                      self.gateway.stderr_path.read_text())
        self.assert_inspected(GOOD, 4)
        self.assertIsNotNone(self.gateway.wait_event(
            lambda e: e.get("type") == "flow" and e.get("sni") == GOOD),
            "no flow event in the reopened event file")
        self.assertNotIn(f'"sni":"{GOOD}"', rotated.read_text().replace(" ", ""))

    # --- events ---------------------------------------------------------------------------

    def test_events_by_type_time_and_follow(self):
        self.handshake("expired.lab.test", 4)  # a tls event, whatever the client gets
        self.assertIsNotNone(self.gateway.wait_event(lambda e: e.get("type") == "tls"))
        self.assert_inspected(GOOD)
        self.flow_event(GOOD, 4, "inspect")
        tls = [json.loads(line) for line in
               self.ctl.run("--json", "events", "--type", "tls").stdout.splitlines()]
        self.assertGreaterEqual(len(tls), 1)
        self.assertTrue(all(e["type"] == "tls" for e in tls), tls)
        self.assertEqual(tls[0]["class"], "expired")
        human = self.ctl.run("events", "--type", "tls", "--since", "10m").stdout
        self.assertIn("tls expired", human)
        self.assertIn("sni=expired.lab.test", human)
        both = self.ctl.run("events", "--type", "tls", "--type", "flow").stdout
        self.assertIn(" flow ", both)
        future = self.ctl.run("events", "--since", "2200-01-01T00:00:00Z").stdout
        self.assertEqual(future, "")
        bad = self.ctl.run("events", "--since", "yesterday", check=False)
        self.assertEqual(bad.returncode, 2)

        follower = self.ctl.popen("--json", "events", "--follow", "--type", "flow",
                                  "--since", "0s")
        try:
            time.sleep(0.5)  # let it reach the end of the file
            self.handshake("blocked.lab.test", 4)
            output = b""
            selector = selectors.DefaultSelector()
            selector.register(follower.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + 10
            while b'"sni":"blocked.lab.test"' not in output:
                left = deadline - time.monotonic()
                self.assertTrue(left > 0 and selector.select(left),
                                f"--follow printed no new flow event; saw {output!r}")
                output += os.read(follower.stdout.fileno(), 65536)
            seen = [json.loads(line) for line in output.splitlines()]
            self.assertTrue(all(e["type"] == "flow" for e in seen), seen)
        finally:
            follower.terminate()
            follower.wait(timeout=10)
        self.assertEqual(follower.returncode, 0, follower.stderr.read().decode())


if __name__ == "__main__":
    unittest.main()
