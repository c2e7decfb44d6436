"""The gateway's CA lifecycle in the lab (DESIGN.md §6): a cross-certificate
that lets clients trusting only an enterprise root accept forged leaves; a
rotation staged, activated at a set time without a restart, with a client that
trusts both CAs and one that trusts only the old one (fallback and the
adoption report); the distribution endpoint's formats, checked with openssl
and plistlib.
"""

from __future__ import annotations

import hashlib
import pathlib
import plistlib
import time

import lab_sites as plan
from lab_case import LabTestCase
from lab_netns import run
from lab_probe import Cert, handshake, parse_cert
from lab_service import Ctl

GOOD = "good.lab.test"
CLIENT_A = plan.client_address(4)  # trusts both CAs
CLIENT_B = plan.client_address(4, plan.SECOND_CLIENT_HOST)  # trusts only the old one


def openssl(*args: str, input_text: str | None = None) -> str:
    return run(["openssl", *args], input_text=input_text).stdout


def sha256_of_pem(pem: str) -> str:
    out = openssl("x509", "-noout", "-fingerprint", "-sha256", input_text=pem)
    return out.strip().split("=", 1)[1].replace(":", "").lower()


def sha256_of_der_file(path: pathlib.Path) -> str:
    out = openssl("x509", "-inform", "DER", "-in", str(path), "-noout", "-fingerprint", "-sha256")
    return out.strip().split("=", 1)[1].replace(":", "").lower()


class CaLabTest(LabTestCase):
    def start(self, ca_settings=None):
        settings = {"ca": ca_settings} if ca_settings else None
        self.gateway = self.lab.start_gateway(settings=settings)
        self.ctl = Ctl(self.gateway)
        self.work = self.lab.dir / "ca-test"
        self.work.mkdir(exist_ok=True)

    def write(self, name: str, text: str) -> pathlib.Path:
        path = self.work / name
        path.write_text(text)
        return path

    def fetch(self, cacert: pathlib.Path, source: str) -> tuple[int, str, str]:
        """curl https://good.lab.test/ from `source`: (exit code, body, stderr)."""
        argv = ["curl", "-sS", "--max-time", "10", "--cacert", str(cacert), "--interface", source,
                "--resolve", f"{GOOD}:443:{plan.site_address(GOOD, 4)}", f"https://{GOOD}/"]
        proc = self.lab.topology.run_in("client", argv, check=False, timeout=30)
        return proc.returncode, proc.stdout, proc.stderr

    def chain(self, source: str) -> list[Cert]:
        hs = handshake(self.lab.topology, plan.site_address(GOOD, 4), GOOD, source=source)
        self.assertGreaterEqual(len(hs.chain), 2, hs.describe())
        return hs.chain

    def ca_event(self, step: str, client: str | None = None, timeout_s: float = 5.0) -> dict:
        event = self.gateway.wait_event(
            lambda e: e.get("type") == "ca" and e.get("step") == step
            and (client is None or e.get("client") == client), timeout_s)
        self.assertIsNotNone(event, f"no ca event {step} {client or ''}\n"
                             + self.lab.diagnostics())
        return event

    def ca_of(self, status: dict, name: str = "default") -> dict:
        return next(c for c in status["cas"] if c["name"] == name)

    # --- bring your own: a cross-certificate ----------------------------------------

    def test_cross_certificate_lets_clients_of_the_enterprise_root_in(self):
        self.start()
        ent_key = self.work / "enterprise.key"
        openssl("ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", str(ent_key))
        ent_root = self.work / "enterprise-root.pem"
        openssl("req", "-x509", "-new", "-key", str(ent_key), "-days", "30",
                "-subj", "/O=Example Corp/CN=Example Corp Root CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", str(ent_root))

        code, _, err = self.fetch(ent_root, CLIENT_A)
        self.assertEqual(code, 60, f"enterprise-only client accepted us before the cross: {err}")

        # The enterprise PKI signs our root (public key and name as they are).
        ext = self.write("cross.ext", "basicConstraints=critical,CA:TRUE,pathlen:1\n"
                         "keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n"
                         "authorityKeyIdentifier=keyid:always\n")
        cross = self.work / "cross.pem"
        openssl("x509", "-in", str(self.gateway.root_ca), "-CA", str(ent_root), "-CAkey",
                str(ent_key), "-CAcreateserial", "-days", "20", "-extfile", str(ext),
                "-out", str(cross))
        answer = self.ctl.json("ca", "import", "--cross", str(cross))
        self.assertEqual(answer["done"], "cross_imported")
        self.assertEqual(answer["id"], "default.1")

        code, body, err = self.fetch(ent_root, CLIENT_A)
        self.assertEqual((code, body), (0, f"site={GOOD}\n"), err)
        chain = self.chain(CLIENT_A)
        self.assertEqual(len(chain), 3, [c.subject for c in chain])
        self.assertEqual(chain[2].issuer_cn, "Example Corp Root CA")
        self.assertEqual(chain[2].subject, parse_cert(self.gateway.root_ca.read_text()).subject)
        self.assertEqual(chain[1].issuer, chain[2].subject)
        # Clients that trust our own root are unaffected.
        code, body, err = self.fetch(self.gateway.root_ca, CLIENT_A)
        self.assertEqual((code, body), (0, f"site={GOOD}\n"), err)
        listed = self.ctl.json("ca", "list")["cas"][0]
        self.assertEqual(len(listed["cross"]), 1)
        self.ca_event("cross_imported")

    # --- rotation: staged, activated at a time, fallback, adoption ------------------------

    def test_rotation_falls_back_for_clients_without_the_new_ca_and_reports_adoption(self):
        self.start()
        pid = self.gateway.pid
        old_root = self.gateway.root_ca.read_text()
        staged = self.ctl.json("ca", "stage")
        self.assertEqual((staged["id"], staged["state"]), ("default.2", "staged"))
        new_root = self.ctl.run("ca", "export", "--generation", "2").stdout
        self.assertNotEqual(new_root, old_root)
        only_old = self.write("old-only.pem", old_root)
        both = self.write("both.pem", old_root + new_root)
        new_subject = parse_cert(new_root).subject
        old_sha = sha256_of_pem(old_root)

        # Staged: published, not signing.
        self.assertEqual(sha256_of_pem(self.ctl.run("ca", "export", "--all").stdout),
                         old_sha)  # the bundle starts with the active root
        self.assertIn(new_root, self.ctl.run("ca", "export", "--all").stdout)
        self.assertEqual(self.fetch(only_old, CLIENT_A)[0], 0)

        # Activation a few seconds ahead, applied by the running daemon.
        scheduled = self.ctl.json("ca", "activate", "--at", "+3s")
        self.assertEqual(scheduled["done"], "scheduled")
        asked = time.monotonic()
        self.assertEqual(self.fetch(only_old, CLIENT_A)[0], 0, "activated too early")
        deadline = asked + 15
        while True:
            states = {c["id"]: c["state"] for c in self.ctl.json("ca", "list")["cas"]}
            if states.get("default.2") == "active":
                break
            self.assertLess(time.monotonic(), deadline, f"not activated: {states}")
            time.sleep(0.2)
        self.assertGreater(time.monotonic() - asked, 1.5, "activated at once, not at the time")
        self.assertEqual(states["default.1"], "retiring")
        self.assertEqual(self.gateway.pid, pid)
        self.assertTrue(self.gateway.running())
        self.ca_event("activated")

        # A trusts both: the new CA at once.
        code, body, err = self.fetch(both, CLIENT_A)
        self.assertEqual((code, body), (0, f"site={GOOD}\n"), err)
        self.assertEqual(self.chain(CLIENT_A)[1].issuer, new_subject)
        self.ca_event("client_adopted", CLIENT_A)

        # B trusts only the old CA: rejects the new one once, then gets the old one.
        code, _, err = self.fetch(only_old, CLIENT_B)
        self.assertEqual(code, 60, f"B accepted a CA it does not trust: {err}")
        fell_back = self.ca_event("client_falls_back", CLIENT_B)
        self.assertEqual(fell_back["rejection"], "alert:unknown_ca")
        code, body, err = self.fetch(only_old, CLIENT_B)
        self.assertEqual((code, body), (0, f"site={GOOD}\n"), err)
        self.assertEqual(self.chain(CLIENT_B)[1].issuer, parse_cert(old_root).subject)

        status = self.ctl.json("ca", "status")
        rule = next(r for r in status["rules"] if r["rule"] == "default")
        self.assertEqual(rule["generation"], 2)
        self.assertEqual(rule["signer_issuer"], new_subject)
        self.assertFalse(rule["rotation_complete"])
        clients = {c["client"]: c for c in self.ca_of(status)["rotation"]["clients"]}
        self.assertEqual(clients[CLIENT_A]["state"], "adopted")
        self.assertIn("accepted_at", clients[CLIENT_A])
        self.assertEqual(clients[CLIENT_B]["state"], "falling_back")
        self.assertEqual(clients[CLIENT_B]["rejections"], 1)
        self.assertGreaterEqual(clients[CLIENT_B]["fallback_served"], 1)
        human = self.ctl.run("ca", "status").stdout
        self.assertIn(f"{CLIENT_A}  adopted, accepted the new CA", human)
        self.assertIn(f"{CLIENT_B}  falling_back, rejected it 1x (alert:unknown_ca", human)

        # The previous CA retired: B has nothing to fall back to.
        retired = self.ctl.json("ca", "retire")
        self.assertEqual((retired["id"], retired["state"]), ("default.1", "retired"))
        self.assertEqual(self.fetch(only_old, CLIENT_B)[0], 60)
        status = self.ctl.json("ca", "status")
        clients = {c["client"]: c for c in self.ca_of(status)["rotation"]["clients"]}
        self.assertEqual(clients[CLIENT_B]["state"], "not_adopted")
        self.assertFalse(self.ca_of(status)["rotation_complete"])

        # B gets the new CA installed: the rotation completes.
        code, body, err = self.fetch(both, CLIENT_B)
        self.assertEqual((code, body), (0, f"site={GOOD}\n"), err)
        deadline = time.monotonic() + 5
        while not self.ca_of(self.ctl.json("ca", "status"))["rotation_complete"]:
            self.assertLess(time.monotonic(), deadline, "rotation never completed")
            time.sleep(0.2)

    # --- the distribution endpoint ------------------------------------------------------

    def test_distribution_endpoint_serves_every_published_ca_in_every_format(self):
        lan_if = self.lab.topology.router_lan_if
        router = plan.router_lan(4)
        self.start({"distribution_listen": [f"{lan_if}:80", f"{router}:8080"]})
        self.ctl.run("ca", "stage")
        published = {c["id"]: c for c in self.ctl.json("ca", "list")["cas"]}
        self.assertEqual(set(published), {"default.1", "default.2"})

        def get(url: str, role: str = "client") -> tuple[int, bytes]:
            out = self.work / "download"
            proc = self.lab.topology.run_in(
                role, ["curl", "-sS", "--max-time", "10", "-o", str(out), "-w", "%{http_code}",
                       url], check=False)
            if proc.returncode != 0:
                return -proc.returncode, b""
            return int(proc.stdout), out.read_bytes()

        status, page = get(f"http://{router}/")
        self.assertEqual(status, 200)
        page_text = page.decode()
        for ca_id, ca in published.items():
            name, gen = ca_id.split(".")
            base = f"http://{router}/ca/tlsgate-{name}-{gen}"
            expected = ca["root"]["sha256"]
            colon = ":".join(expected[i:i + 2] for i in range(0, 64, 2)).upper()
            self.assertIn(colon, page_text)
            for ext in ("pem", "cer", "mobileconfig"):
                self.assertIn(f"/ca/tlsgate-{name}-{gen}.{ext}", page_text)

            status, pem = get(base + ".pem")
            self.assertEqual(status, 200)
            self.assertEqual(sha256_of_pem(pem.decode()), expected, "PEM")
            status, der = get(base + ".cer")
            self.assertEqual(status, 200)
            der_file = self.write(f"{ca_id}.cer", "")
            der_file.write_bytes(der)
            self.assertEqual(sha256_of_der_file(der_file), expected, "DER")
            self.assertEqual(hashlib.sha256(der).hexdigest(), expected)
            status, profile = get(base + ".mobileconfig")
            self.assertEqual(status, 200)
            plist = plistlib.loads(profile)
            self.assertEqual(plist["PayloadType"], "Configuration")
            payload = plist["PayloadContent"][0]
            self.assertEqual(payload["PayloadType"], "com.apple.security.root")
            cert_file = self.write(f"{ca_id}-from-profile.cer", "")
            cert_file.write_bytes(payload["PayloadContent"])
            self.assertEqual(sha256_of_der_file(cert_file), expected, "mobileconfig")
            for blob in (pem, der, profile):
                self.assertNotIn(b"PRIVATE KEY", blob)

        # The address entry, the bundle, IPv6 through the interface entry.
        status, bundle = get(f"http://{router}:8080/ca/all.pem")
        self.assertEqual(status, 200)
        self.assertEqual(bundle.decode().count("BEGIN CERTIFICATE"), 2)
        status, _ = get(f"http://[{plan.router_lan(6)}]/")
        self.assertEqual(status, 200)
        # Only on the LAN: the WAN side of the router does not answer.
        status, _ = get(f"http://{plan.router_wan(4)}/", role="server")
        self.assertLess(status, 0, "the distribution endpoint answers on the WAN")
        status, _ = get(f"http://{router}/ca/tlsgate-default-9.pem")
        self.assertEqual(status, 404)
