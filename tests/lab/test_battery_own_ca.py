"""The gateway never accepts its own CA upstream (issue 14.4b): an
administrator installed the gateway root system-wide (the default
trust_store is the system's), and a server presents a chain ending at it, or
through a cross-certificate of it issued by a root the gateway trusts.

The lab's "gateway_root" -> "gateway_ca" (lab_pki.py) is installed as the
gateway's first CA before it starts, so the lab can issue upstream leaves
from the very CA the gateway forges with."""

import shutil
import unittest

import lab_sites as plan
from lab_battery import BatteryTestCase

OWN_CA = "c39-own-ca.lab.test"
OWN_CA_CROSS = "c39-own-ca-cross.lab.test"


class BatteryOwnCaTest(BatteryTestCase):
    SITE_NAMES = ("c01-valid.lab.test", OWN_CA, OWN_CA_CROSS)
    START_GATEWAY = False

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()  # the lab, no gateway yet
        try:
            pki, gw = cls.lab.pki, cls.lab.gateway
            ca_dir = gw.state_dir / "ca"
            ca_dir.mkdir(parents=True)
            gw.state_dir.chmod(0o700)
            ca_dir.chmod(0o700)
            for name, source in (("root", "gateway_root"), ("intermediate", "gateway_ca")):
                shutil.copyfile(pki.issuer_cert(source), ca_dir / f"{name}.pem")
                key = ca_dir / f"{name}.key"
                shutil.copyfile(pki.issuer_key(source), key)
                key.chmod(0o600)
            cls.lab_trust = gw.trust_store
            cls.with_gateway_root = gw.dir / "trusted-roots-and-gateway-root.pem"
            cls.with_gateway_root.write_text(pki.trust_bundle.read_text()
                                             + pki.issuer_cert("gateway_root").read_text())
            gw.trust_store = cls.with_gateway_root
            cls.lab.start_gateway(cls.RULES, cls.SETTINGS)
        except BaseException as e:
            cls._record_class_failure(e)
            raise

    def test_own_ca_never_accepted_upstream(self):
        gw = self.gateway
        self.assertEqual("".join(gw.root_ca.read_text().split()),
                         "".join(self.lab.pki.issuer_cert("gateway_root").read_text().split()),
                         "the gateway did not adopt the lab's gateway CA")
        blocked = self.check_blocked("own-ca", OWN_CA)
        if blocked:
            self.assertIn("gateway's own CA", blocked["tls"].get("detail", ""), blocked["tls"])
        self.check_passes("own-ca-control", "c01-valid.lab.test")

        # Only the lab roots trusted: the chain through the cross-certificate
        # is valid there, and still refused (same public key as the gateway root).
        gw.trust_store = self.lab_trust
        self.lab.restart_gateway()
        blocked = self.check_blocked("own-ca-cross", OWN_CA_CROSS)
        if blocked:
            self.assertIn("same public key", blocked["tls"].get("detail", ""), blocked["tls"])


if __name__ == "__main__":
    unittest.main()
