"""Lab case 1: the lab without a gateway is plain routing (what fail-open
must look like): every site is reached directly, with nginx's own chain."""

import unittest

import lab_sites as plan
from lab_case import LabTestCase
from lab_netns import run


class PlumbingTest(LabTestCase):
    def test_namespaces_are_isolated(self):
        """Only lo and the lab's veths, no NAT: nothing leads out of the lab."""
        t = self.lab.topology
        expected = {"client": {"lo", t.client_if}, "router": {"lo", t.router_lan_if,
                                                               t.router_wan_if},
                    "server": {"lo", t.server_if}}
        for role, names in expected.items():
            out = t.run_in(role, ["ip", "-o", "link", "show"]).stdout
            found = {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}
            self.assertEqual(found, names, f"{role} interfaces")
        host_links = run(["ip", "-o", "link", "show"]).stdout
        self.assertNotIn(self.lab.lab_id, host_links, "a lab interface is in the host namespace")
        for role in expected:
            ruleset = t.run_in(role, ["nft", "list", "ruleset"]).stdout.strip()
            self.assertEqual(ruleset, "", f"{role}: no netfilter rules (no NAT) in the lab")

    def test_every_site_directly_with_the_lab_chain(self):
        for site in self.lab.sites:
            for family in (4, 6):
                with self.subTest(site=site.name, family=family):
                    self._check_direct(site, family)

    def _check_direct(self, site: plan.Site, family: int):
        hs = self.handshake(site.name, family)
        self.assert_lab_chain(hs, site.name)
        before = len(self.lab.nginx.access_lines(site.name))
        result = self.curl(site.name, family, self.lab.pki.root_cert)
        if site.leaf.expired:
            # The client itself sees the expired leaf: curl refuses it (60).
            self.assertEqual(result.exit_code, 60, result.describe())
            self.assertIn("expired", result.stderr, result.describe())
            result = self.curl(site.name, family, self.lab.pki.root_cert, insecure=True)
        self.assert_body(result, site.name)
        self.assert_access_logged(site.name, before)
        line = self.lab.nginx.access_lines(site.name)[before]
        # No NAT, no proxy: nginx sees the client's own address.
        self.assertTrue(line.startswith(plan.client_address(family) + " "), line)
        self.assertIn(f'"{site.name}"', line)  # the SNI nginx received


if __name__ == "__main__":
    unittest.main()
