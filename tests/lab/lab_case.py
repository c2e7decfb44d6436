"""unittest support for lab tests: one fresh lab per test, root or skip, and
assertions on what the client saw / what nginx and the gateway logged."""

from __future__ import annotations

import ipaddress
import os
import random
import string
import time
import unittest

import lab_sites as plan
from lab import Lab
from lab_netns import Topology
from lab_pki import INTERMEDIATE_CN
from lab_probe import CurlResult, Handshake, cert_file, curl, s_client

ID_ALPHABET = string.ascii_lowercase + string.digits


def new_lab_id() -> str:
    """<prefix><4 random chars>; prefix from TLSGATE_LAB_ID_PREFIX (default "tlab")."""
    prefix = os.environ.get("TLSGATE_LAB_ID_PREFIX", "tlab")
    for _ in range(20):
        lab_id = prefix + "".join(random.choices(ID_ALPHABET, k=4))
        if not Topology(lab_id).existing_namespaces():
            return lab_id
    raise RuntimeError("no free lab id")


def server_matches(event_server: str | None, address: str) -> bool:
    """Does an event's "server" ("10.0.0.1:443", "[fd00::1]:443") name `address`?"""
    if not event_server:
        return False
    if event_server.startswith("["):
        host = event_server[1:].split("]")[0]
    elif event_server.count(":") == 1:
        host = event_server.split(":")[0]
    else:
        host = event_server
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(address)
    except ValueError:
        return False


def fingerprint(text: str) -> str:
    return text.replace(":", "").lower()


@unittest.skipUnless(os.geteuid() == 0, "lab tests need root (network namespaces)")
class LabTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self) -> None:
        self.lab = Lab(new_lab_id())
        self.lab.up()
        self.addCleanup(self.lab.down)

    # --- probes -------------------------------------------------------------------

    def curl(self, site: str, family: int, cacert, **kwargs) -> CurlResult:
        return curl(self.lab.topology, site, family, cacert, **kwargs)

    def handshake(self, site: str, family: int) -> Handshake:
        return s_client(self.lab.topology, site, family)

    # --- assertions ---------------------------------------------------------------

    def assert_body(self, result: CurlResult, site: str) -> None:
        self.assertEqual(result.exit_code, 0, result.describe())
        self.assertEqual(result.http_code, "200", result.describe())
        self.assertEqual(result.body, f"site={site}\n", result.describe())

    def assert_handshake_failed(self, result: CurlResult, hs: Handshake) -> None:
        # 35: SSL connect error (alert / handshake failure); anything that got
        # through the handshake (60: bad certificate, 0: success) is wrong here.
        self.assertEqual(result.exit_code, 35, result.describe())
        self.assertFalse(hs.completed, hs.describe())

    def assert_lab_chain(self, hs: Handshake, site: str) -> None:
        """The client got the nginx leaf itself (issued by the lab intermediate)."""
        self.assertTrue(hs.completed, hs.describe())
        self.assertGreaterEqual(len(hs.chain), 1, hs.describe())
        leaf = hs.chain[0]
        self.assertEqual(leaf.issuer_cn, INTERMEDIATE_CN, hs.describe())
        expected = cert_file(self.lab.pki.leaf_cert(plan.site(site)))
        self.assertEqual(leaf.sha256, expected.sha256, "served leaf is not the nginx leaf")

    def assert_access_logged(self, site: str, before: int, count: int = 1) -> None:
        deadline = time.monotonic() + 3.0
        while len(self.lab.nginx.access_lines(site)) < before + count:
            if time.monotonic() > deadline:
                self.fail(f"{site}: expected {count} new access-log line(s), have "
                          f"{self.lab.nginx.access_lines(site)[before:]}")
            time.sleep(0.05)

    def assert_access_log_empty(self, site: str) -> None:
        self.assertEqual(self.lab.nginx.access_lines(site), [],
                         f"{site}: request bytes reached the upstream")
