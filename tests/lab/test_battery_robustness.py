"""Security battery cases 31-38 and non-TLS bytes: the gateway CA's keys,
flows without SNI, malformed and oddly spelled ClientHellos, upstreams that
stall or are unreachable, 200 parallel failing connections, the first
connection after a restart. Three classes, one lab each."""

import base64
import json
import os
import pathlib
import re
import sys
import tempfile
import time
import unittest

import lab_sites as plan
from lab_battery import (RAWTLS, BatteryTestCase, describe_event, describe_fetch,
                         describe_handshake)
from lab_gateway import LAB_RULES
from lab_probe import cert_details, critical, run, verify_chain
from lab_rawtls import client_hello, first_alert, sni_extension


def _v4(name):
    return plan.site_v4(name)


class BatterySniTest(BatteryTestCase):
    """34-35: what a flow is decided and validated on when SNI is missing,
    malformed or oddly spelled."""

    SITE_NAMES = ("c34-no-sni.lab.test", "c34-ip-san.lab.test", "c34-dst-rule.lab.test",
                  "c35-malformed.lab.test", "c35-normalized.lab.test", "c35-blocked.lab.test")
    RULES = LAB_RULES + (
        {"name": "c34-dst-block", "action": "block",
         "dst": [f"{_v4('c34-dst-rule.lab.test')}/32",
                 f"{plan.site_v6('c34-dst-rule.lab.test')}/128"]},
        {"name": "c35-block-normalized", "action": "block", "sni": ["c35-blocked.lab.test"]},
    )

    def test_34_no_sni(self):
        name = "c34-no-sni.lab.test"
        ip = _v4(name)
        with self.subTest(case="34a"), self.battery_case("34a") as rec:
            before = self.upstream_requests(name)
            mark = self.mark()
            hs = self.chain(name, servername=None)
            f = self.fetch(ip)
            tls = self.wait_event("tls", None, mark, address=ip)
            flow = self.wait_event("flow", None, mark, address=ip)
            for text in (describe_handshake(hs), describe_fetch(f"curl https://{ip}/", f, ip,
                                                                "hostname_mismatch"),
                         describe_event(tls, "tls"), describe_event(flow, "flow")):
                rec.note(text)
            if hs.completed and hs.chain:
                self.assertNotIn(name, hs.chain[0].dns_names,
                                 "a leaf was forged from the upstream's names")
                ok, _ = verify_chain(hs.chain, self.gateway.root_ca, name)
                self.assertFalse(ok, "a no-SNI client got a trusted leaf for the upstream's name")
            self.assert_block_page(f, ip, "hostname_mismatch", "2")
            self.assert_no_upstream_request(name, before)
            self.assert_tls_event(tls, name, "hostname_mismatch", "block")

        name = "c34-ip-san.lab.test"
        ip = _v4(name)
        with self.subTest(case="34b"), self.battery_case("34b") as rec:
            before = self.upstream_requests(name)
            mark = self.mark()
            f = self.fetch(ip)
            hs = self.chain(name, servername=None)
            flow = self.wait_event("flow", None, mark, address=ip)
            for text in (describe_fetch(f"curl https://{ip}/", f), describe_handshake(hs),
                         describe_event(flow, "flow")):
                rec.note(text)
            self.assert_body(f, name)
            self.assert_gateway_leaf(hs, name, sni_name=ip)
            self.assertEqual(hs.chain[0].dns_names, [], "no DNS names for an address-only flow")
            self.assertEqual(self.upstream_requests(name), before + 1)
            self.assertEqual(flow and flow.get("action"), "inspect", flow)

        name = "c34-dst-rule.lab.test"
        ip = _v4(name)
        with self.subTest(case="34c"), self.battery_case("34c") as rec:
            before = self.upstream_requests(name)
            mark = self.mark()
            hs = self.chain(name, servername=None)
            flow = self.wait_event("flow", None, mark, address=ip)
            rec.note(describe_handshake(hs))
            rec.note(describe_event(flow, "flow") + f" rule={flow and flow.get('rule')}")
            self.assertFalse(hs.completed, hs.describe())
            self.assert_no_upstream_request(name, before)
            self.assertIsNotNone(flow, "no flow event for the dst rule's block")
            self.assertEqual((flow.get("action"), flow.get("rule")), ("block", "c34-dst-block"))

    def test_35_malformed_client_hellos(self):
        name = "c35-malformed.lab.test"
        host = name.encode()
        ip = _v4(name)
        valid = client_hello((host,))
        variants = {
            "inner lengths truncated": _truncated_inside(valid, 12),
            "two SNI extensions": client_hello((host,), extra_extensions=sni_extension(host)),
            "two names in one SNI": client_hello((host, b"other.lab.test")),
            "300-byte name": client_hello((b".".join([b"a" * 59] * 5) + b".lab.test",)),
            "64-byte label": client_hello((b"a" * 64 + b".lab.test",)),
            "NUL in the name": client_hello((b"c35-malformed\x00.lab.test",)),
            "IP literal as SNI": client_hello((ip.encode(),)),
        }
        with self.subTest(case="35a"), self.battery_case("35a") as rec:
            before = self.upstream_requests(name)
            outcomes = {}
            for label, hello in variants.items():
                mark = self.mark()
                reply = self.raw_send(ip, hello)
                alert = first_alert(bytes.fromhex(reply["received"]))
                flow = self.any_flow_after(mark, ip)
                outcomes[label] = (alert, flow)
                rec.note(f"{label}: alert {alert}, {describe_event(flow, 'flow')}")
            for label, (alert, flow) in outcomes.items():
                self.assertIsNotNone(alert, f"{label}: no TLS alert")
                self.assertIsNotNone(flow, f"{label}: no flow event")
                self.assertEqual(flow.get("action"), "block", f"{label}: {flow}")
            self.assertEqual(self.upstream_requests(name), before,
                             "a malformed hello led to an upstream connection")
        with self.subTest(case="35b"), self.battery_case("35b") as rec:
            before = self.upstream_requests(name)
            mark = self.mark()
            reply = self.raw_send(ip, valid[:100], half_close=True)
            flow = self.any_flow_after(mark, ip)
            rec.note(f"received {len(reply['received']) // 2} bytes, closed {reply['closed']}, "
                     f"{describe_event(flow, 'flow')}")
            self.assertTrue(reply["closed"], reply)
            self.assertEqual(self.upstream_requests(name), before)
            self.assertTrue(self.gateway.running(), self.gateway.log_tail())

    def test_35_normalized_names(self):
        name = "c35-normalized.lab.test"
        with self.subTest(case="35c"), self.battery_case("35c") as rec:
            before = len(self.lab.nginx.access_lines(name))
            mark = self.mark()
            request = (f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n")
            hs = self.chain(name, servername="C35-Normalized.Lab.Test.",
                            options=["-ign_eof"], input_text=request)
            flow = self.any_flow_after(mark, _v4(name))
            lines = self.lab.nginx.access_lines(name)[before:]
            rec.note(describe_handshake(hs))
            rec.note(f"body {'site=' + name in hs.output}; upstream log {lines}")
            rec.note(describe_event(flow, "flow") + f" sni={flow and flow.get('sni')}")
            blocked = "c35-blocked.lab.test"
            mark = self.mark()
            hs_blocked = self.chain(blocked, servername="C35-BLOCKED.lab.test.")
            flow_blocked = self.any_flow_after(mark, _v4(blocked))
            rec.note(f"C35-BLOCKED.lab.test.: {describe_handshake(hs_blocked)}, "
                     f"{describe_event(flow_blocked, 'flow')} "
                     f"rule={flow_blocked and flow_blocked.get('rule')}")
            self.assert_gateway_leaf(hs, name)
            self.assertIn(name, hs.chain[0].dns_names)
            self.assertIn(f"site={name}", hs.output, "no answer from the upstream")
            self.assertTrue(lines and f'"{name}"' in lines[0],
                            f"upstream SNI was not the normalized name: {lines}")
            self.assertEqual(flow and flow.get("sni"), name, flow)
            self.assertFalse(hs_blocked.completed, hs_blocked.describe())
            self.assertEqual(flow_blocked and flow_blocked.get("rule"), "c35-block-normalized",
                             flow_blocked)


def _truncated_inside(hello: bytes, cut: int) -> bytes:
    """The record and handshake lengths cover what is sent, but the extension
    block's own length still counts the `cut` bytes that are gone."""
    data = bytearray(hello[:-cut])
    body_len = len(data) - 9
    data[3:5] = (len(data) - 5).to_bytes(2, "big")
    data[6:9] = body_len.to_bytes(3, "big")
    return bytes(data)


FAILING = {  # site -> class, for the parallel case
    "c02-expired.lab.test": "expired", "c04-mismatch.lab.test": "hostname_mismatch",
    "c05-self-signed.lab.test": "self_signed", "c07-bad-signature.lab.test":
    "invalid_signature", "c13-cn-only.lab.test": "hostname_mismatch",
    "c15-leaf-only.lab.test": "incomplete_chain",
}


class BatteryRobustnessTest(BatteryTestCase):
    """36-38 and non-TLS bytes on the intercept port."""

    SITE_NAMES = ("c36-stall.lab.test", "c36-refused.lab.test", "c36-blackhole.lab.test",
                  "c38-restart.lab.test", "cx-non-tls.lab.test", "c01-valid.lab.test",
                  *FAILING)

    def test_36_unresponsive_upstreams(self):
        for case_id, name, reason in (("36a", "c36-stall.lab.test", r"timeout"),
                                      ("36b", "c36-refused.lab.test", r"refused|unreachable"),
                                      ("36c", "c36-blackhole.lab.test",
                                       r"timeout|unreachable")):
            with self.subTest(case=case_id), self.battery_case(case_id) as rec:
                mark = self.mark()
                started = time.monotonic()
                f = self.fetch(name, http="1.1")
                elapsed = time.monotonic() - started
                flow = self.wait_event("flow", name, mark)
                rec.note(f"{describe_fetch('HTTP/1.1', f, name)} after {elapsed:.1f}s")
                rec.note(describe_event(flow, "flow"))
                self.assertFalse(f.exit_code == 0 and f.status not in ("403", "502", "504"),
                                 "an unanswered upstream must not look like an answer: "
                                 + f.describe())
                self.assertLess(elapsed, 2.0 + 5.0, "not within the configured timeouts")
                self.assertIsNotNone(flow, "no flow event")
                self.assertRegex(flow.get("reason", ""), reason, flow)
                # As for a failed upstream handshake: what was done is a block.
                self.assertEqual(flow.get("action"), "block", flow)
                self.assertTrue(self.gateway.running())

    def test_37_parallel_failures(self):
        names = [*FAILING, "c01-valid.lab.test"]
        spec = [{"host": names[i % len(names)], "address": _v4(names[i % len(names)]),
                 "cafile": str(self.gateway.root_ca), "path": "/"} for i in range(200)]
        with self.subTest(case="37"), self.battery_case("37") as rec:
            mark = self.mark()
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                json.dump(spec, f)
            try:
                proc = self.lab.topology.run_in(
                    "client", [sys.executable, str(RAWTLS), "parallel", "--spec", f.name],
                    timeout=180)
            finally:
                os.unlink(f.name)
            results = json.loads(proc.stdout)
            # A local port is reused towards another address: key on both.
            flows = {}
            deadline = time.monotonic() + 5.0
            while len(flows) < len(results) and time.monotonic() < deadline:
                time.sleep(0.2)
                flows = {(e.get("client", "").rsplit(":", 1)[-1],
                          e.get("server", "").rsplit(":", 1)[0]): e
                         for e in self.events_after(mark) if e.get("type") == "flow"}
            outcomes: dict[str, int] = {}
            wrong = []
            for r in results:
                key = f"{r['outcome']} {r['status']}".strip()
                outcomes[key] = outcomes.get(key, 0) + 1
                wrong += self._check_parallel_result(
                    r, flows.get((str(r["port"]), _v4(r["host"]))))
            rec.note(f"outcomes {outcomes}; {len(flows)} flow events; "
                     f"{len(wrong)} answers or events naming another host/class")
            rec.note("gateway alive" if self.gateway.running() else "GATEWAY DIED")
            self.assertTrue(self.gateway.running(), self.gateway.log_tail())
            self.assertEqual(wrong, [])
            for r in results:
                if r["host"] in FAILING:
                    self.assertEqual((r["outcome"], r["status"]), ("http", "403"),
                                     f"expected a block page: {r}")

    def _check_parallel_result(self, r: dict, flow: dict | None) -> list[str]:
        host, problems = r["host"], []
        if flow is None:
            return [f"{host} port {r['port']}: no flow event ({r})"]
        if flow.get("sni") != host:
            problems.append(f"{host}: flow event names {flow.get('sni')}")
        if host in FAILING:
            if FAILING[host] not in flow.get("reason", ""):
                problems.append(f"{host}: flow reason {flow.get('reason')!r}")
            if r["outcome"] == "http" and not (host in r["body"] and FAILING[host] in r["body"]):
                problems.append(f"{host}: page does not name its host and class")
        elif r["outcome"] != "http" or r["body"] != f"site={host}\n":
            problems.append(f"{host}: {r}")
        return problems

    def test_38_first_connection_after_restart(self):
        status = self.lab.restart_gateway()
        self.assertEqual(status, 0, "tlsgated did not exit 0 on SIGTERM\n"
                         + self.gateway.log_tail())
        self.check_blocked("38", "c38-restart.lab.test")
        self.assert_body(self.fetch("c01-valid.lab.test"), "c01-valid.lab.test")

    def test_non_tls_on_443(self):
        name = "cx-non-tls.lab.test"
        with self.subTest(case="non_tls"), self.battery_case("non_tls") as rec:
            before = self.upstream_requests(name)
            mark = self.mark()
            reply = self.raw_send(_v4(name), f"GET / HTTP/1.1\r\nHost: {name}\r\n\r\n".encode())
            flow = self.wait_event("flow", None, mark, address=_v4(name))
            received = bytes.fromhex(reply["received"])
            rec.note(f"received {received[:40]!r}, closed {reply['closed']}; "
                     + describe_event(flow, "flow"))
            self.assertEqual(received, b"", "plain HTTP on 443 got an answer")
            self.assertTrue(reply["closed"], reply)
            self.assertIsNotNone(flow, "no flow event")
            self.assertEqual(flow.get("reason"), "non_tls", flow)
            self.assert_no_upstream_request(name, before)


class BatteryCaKeyTest(BatteryTestCase):
    """31-33: the gateway CA, per installation, its keys and extensions."""

    SITE_NAMES = ("c01-valid.lab.test",)

    def test_31_to_33_ca_keys(self):
        gw = self.gateway
        with self.subTest(case="33"), self.battery_case("33") as rec:
            hs = self.chain("c01-valid.lab.test")
            self.assert_gateway_leaf(hs, "c01-valid.lab.test")
            root = cert_details(gw.root_ca.read_text())
            intermediate = cert_details(hs.chain[1].pem)
            for label, c in (("root", root), ("intermediate", intermediate)):
                rec.note(f"{label}: {c.basic_constraints} (critical "
                         f"{critical(c.text, 'Basic Constraints')}), KU {c.key_usage} "
                         f"(critical {critical(c.text, 'Key Usage')}), {c.public_key}")
            for c in (root, intermediate):
                self.assertRegex(c.basic_constraints, r"^CA:TRUE, pathlen:\d+$")
                self.assertTrue(critical(c.text, "Basic Constraints"))
                self.assertEqual(c.key_usage, "Certificate Sign, CRL Sign")
                self.assertTrue(critical(c.text, "Key Usage"))
            self.assertEqual(intermediate.basic_constraints, "CA:TRUE, pathlen:0")

        with self.subTest(case="32"), self.battery_case("32") as rec:
            ca_dir = gw.state_dir / "ca"
            uid = _euid(gw.pid)
            files = sorted(p for p in gw.state_dir.rglob("*") if p.is_file())
            # The CA keys, and any other secret the daemon keeps (the continue
            # token's HMAC key, exception.key).
            keys = [p for p in files if p.suffix == ".key"
                    or "PRIVATE KEY" in p.read_text(errors="replace")]
            modes = {p.name: (oct(p.stat().st_mode & 0o777), p.stat().st_uid) for p in keys}
            rec.note(f"{len(files)} files under the state dir, secrets {modes}, ca dir mode "
                     f"{oct(ca_dir.stat().st_mode & 0o777)}, daemon uid {uid}")
            self.assertTrue([p for p in keys if p.parent == ca_dir],
                            f"no private key under {ca_dir}: {files}")
            for p in keys:
                self.assertEqual(p.stat().st_mode & 0o777, 0o600, p)
                self.assertEqual(p.stat().st_uid, uid, p)
            self.assertEqual(ca_dir.stat().st_mode & 0o007, 0, "CA directory open to others")
            logs = "".join(path.read_text(errors="replace") for path in
                           (gw.stderr_path, gw.stdout_path, gw.event_log) if path.exists())
            leaked = [p.name for p in keys if _key_material_in(p, logs)]
            rec.note(f"key material in logs: {leaked or 'none'}")
            self.assertNotIn("PRIVATE KEY", logs)
            self.assertEqual(leaked, [])

        with self.subTest(case="31"), self.battery_case("31") as rec:
            first = _public_key(gw.root_ca)
            original_state = gw.state_dir
            try:
                gw.state_dir = gw.dir / "second-install"
                self.assertEqual(self.lab.restart_gateway(), 0, gw.log_tail())
                second = _public_key(gw.root_ca)
            finally:
                gw.state_dir = original_state
                self.lab.restart_gateway()
            again = _public_key(gw.root_ca)
            rec.note(f"install 1 root key {first[-40:-26]}..., install 2 {second[-40:-26]}..., "
                     f"after restart of install 1: {'same' if again == first else 'DIFFERENT'}")
            self.assertNotEqual(first, second, "two installations share a root key")
            self.assertEqual(first, again, "a restart must keep the installation's root")


def _euid(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[2])
    raise RuntimeError(f"no Uid line for pid {pid}")


def _key_material_in(key_file: pathlib.Path, logs: str) -> bool:
    data = key_file.read_bytes()
    if b"PRIVATE KEY" in data:
        body = re.findall(r"^[A-Za-z0-9+/=]{40,}$", data.decode(), re.M)
        return any(line[:40] in logs for line in body)
    # A raw secret: look for it in hex and base64 forms.
    return data.hex() in logs or base64.b64encode(data).decode().rstrip("=") in logs \
        or base64.urlsafe_b64encode(data).decode().rstrip("=") in logs


def _public_key(cert: pathlib.Path) -> str:
    return run(["openssl", "x509", "-noout", "-pubkey", "-in", str(cert)]).stdout


if __name__ == "__main__":
    unittest.main()
