"""Base of the security battery's tests: one lab (with its battery rows and a
gateway) per test class, probes and event look-ups per case, the assertions
of SECURITY-BATTERY.md items 1-4, and a record of every case's outcome for
BATTERY.md (battery_results.py).

A case is written as

    with self.subTest(case="2"), self.battery_case("2") as rec:
        ...observe, rec.note(...)...
        ...assert...

so that several cases of one test method fail independently and each case's
observations are recorded even when an assertion stops it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import pathlib
import re
import sys
import time
import unittest

import battery_cases
import battery_results
import lab as lab_module
import lab_sites as plan
from lab import Lab
from lab_case import fingerprint, new_lab_id, server_matches
from lab_gateway import LAB_RULES
from lab_probe import Fetch, Handshake, cert_file, fetch, handshake, verify_chain

GATEWAY_ISSUER_PREFIX = "tlsgate"
RAWTLS = pathlib.Path(__file__).with_name("lab_rawtls.py")
# Short timeouts so the robustness cases stay quick; a stalled upstream must
# fail within these, never hang or pass.
FAST_TIMEOUTS = {"handshake_timeout": "2s", "connect_timeout": "2s"}


class CaseRecord:
    def __init__(self, case_id: str):
        self.case_id = case_id
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def actual(self) -> str:
        return "; ".join(self.notes)


def page_names(body: str, *values: str) -> bool:
    return all(v in body for v in values)


def describe_fetch(label: str, f: Fetch, site: str | None = None, cls: str | None = None) -> str:
    text = f"{label}: {f.short()}"
    if f.exit_code == 0:
        if f.body.startswith("site="):
            text += f" body {f.body.strip()!r}"
        elif site is not None:
            named = [v for v in (site, cls) if v and v in f.body]
            text += f" page naming {named or 'neither host nor class'}"
    return text


def describe_handshake(hs: Handshake) -> str:
    if not hs.completed:
        return f"s_client: no handshake (alert {hs.alert})" if hs.alert else \
            "s_client: no handshake (closed)"
    if not hs.chain:
        return "s_client: handshake, no certificate"
    leaf = hs.chain[0]
    return f"s_client: leaf issuer {leaf.issuer_cn!r} SAN {leaf.dns_names[:3]}"


def describe_event(event: dict | None, kind: str) -> str:
    if event is None:
        return f"no {kind} event"
    if kind == "tls":
        return f"tls event class={event.get('class')} action={event.get('action')}"
    return f"flow action={event.get('action')} reason={event.get('reason')}"


@unittest.skipUnless(os.geteuid() == 0, "lab tests need root (network namespaces)")
class BatteryTestCase(unittest.TestCase):
    """One lab per class. Subclasses set SITE_NAMES (rows beyond the core
    lab), RULES and SETTINGS (gateway config; only the keys the class needs,
    so a key the gateway does not know yet fails only that class)."""

    SITE_NAMES: tuple[str, ...] = ()
    RULES: tuple[dict, ...] = LAB_RULES
    SETTINGS: dict = {"gateway": FAST_TIMEOUTS}
    START_GATEWAY = True
    maxDiff = None

    lab: Lab

    @classmethod
    def setUpClass(cls) -> None:
        sites = plan.core_sites() + tuple(plan.site(n) for n in cls.SITE_NAMES)
        cls.lab = Lab(new_lab_id(), sites=sites)
        try:
            cls.lab.up()
            if cls.START_GATEWAY:
                cls.lab.start_gateway(cls.RULES, cls.SETTINGS)
        except BaseException as e:
            cls._record_class_failure(e)
            cls.lab.down(raise_on_problems=False)
            raise
        cls.addClassCleanup(cls.lab.down)

    @classmethod
    def _record_class_failure(cls, error: BaseException) -> None:
        name = f"{cls.__module__}.{cls.__qualname__}"
        for c in battery_cases.cases_of(name):
            battery_results.record(c.id, "error", "", f"lab/gateway did not start: "
                                   f"{str(error)[:600]}", name)

    @property
    def gateway(self):
        return self.lab.gateway

    # --- recording --------------------------------------------------------------------

    @contextlib.contextmanager
    def battery_case(self, case_id: str):
        battery_cases.case(case_id)  # an unknown id is a bug in the test
        if lab_module.INTERRUPTED:
            raise lab_module.LabInterrupted("the run was interrupted before this case")
        rec = CaseRecord(case_id)
        try:
            yield rec
        except self.failureException as e:
            battery_results.record(case_id, "fail", rec.actual, _first_line(e), self.id())
            raise
        except Exception as e:
            battery_results.record(case_id, "error", rec.actual,
                                   f"{type(e).__name__}: {_first_line(e)}", self.id())
            raise
        else:
            battery_results.record(case_id, "pass", rec.actual, "", self.id())

    # --- probes -----------------------------------------------------------------------

    def fetch(self, name: str, *, http: str = "2", path: str = "/", family: int = 4,
              cacert=None, address: str | None = None, **kwargs) -> Fetch:
        """curl to `name` at its row's address; `name` may be an IP literal (no SNI)."""
        cacert = self.gateway.root_ca if cacert is None else cacert
        if address is None:
            address = name if _is_ip(name) else plan.site_address(_row(name), family)
        return fetch(self.lab.topology, name, address, cacert, path=path, http=http, **kwargs)

    def chain(self, name: str, *, family: int = 4, servername: str | None = "",
              options=(), **kwargs) -> Handshake:
        """s_client; servername "" (default): the name itself, None: no SNI."""
        sni = name if servername == "" else servername
        return handshake(self.lab.topology, plan.site_address(_row(name), family), sni,
                         options=options, **kwargs)

    def raw_send(self, address: str, data: bytes, *, half_close: bool = False,
                 wait_s: float = 5.0, port: int = 443) -> dict:
        """Raw bytes from the client namespace (lab_rawtls.py send): {"received":
        hex, "closed": bool, "error": str}."""
        argv = [sys.executable, str(RAWTLS), "send", "--connect",
                f"{'[' + address + ']' if ':' in address else address}:{port}",
                "--hex", data.hex(), "--wait", str(wait_s)]
        if half_close:
            argv.append("--half-close")
        proc = self.lab.topology.run_in("client", argv, timeout=wait_s + 30)
        return json.loads(proc.stdout)

    def upstream_requests(self, name: str) -> int:
        """Requests (nginx access-log lines), completed handshakes (gnutls-serv) or
        connections (stalling server) the upstream of `name` has seen."""
        s = plan.site(_row(name))
        kind = s.upstream.kind
        if kind == "gnutls":
            return self.lab.upstreams.gnutls_log(s.name).count("- Description:")
        if kind == "stall":
            return sum(1 for r in self.lab.upstreams.records(s.name) if r["event"] == "accept")
        if kind in ("refused", "blackhole"):
            return 0
        return len(self.lab.nginx.access_lines(s.name))

    def upstream_leaf(self, name: str):
        return cert_file(self.lab.pki.leaf_cert(plan.site(_row(name))))

    # --- events -----------------------------------------------------------------------

    def mark(self) -> int:
        return len(self.gateway.events())

    def events_after(self, mark: int) -> list[dict]:
        return self.gateway.events()[mark:]

    def wait_event(self, kind: str, name: str | None, mark: int, *, family: int = 4,
                   address: str | None = None, timeout_s: float = 5.0, predicate=None):
        """The first `kind` event after `mark` for SNI `name` (None: no SNI) at the
        row's address (or `address`)."""
        address = address or plan.site_address(_row(name), family)
        deadline = time.monotonic() + timeout_s
        while True:
            for e in self.events_after(mark):
                if (e.get("type") == kind and e.get("sni") == name
                        and server_matches(e.get("server"), address)
                        and (predicate is None or predicate(e))):
                    return e
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def any_flow_after(self, mark: int, address: str, timeout_s: float = 5.0):
        """The first flow event to `address` after `mark`, whatever its SNI field."""
        deadline = time.monotonic() + timeout_s
        while True:
            for e in self.events_after(mark):
                if e.get("type") == "flow" and server_matches(e.get("server"), address):
                    return e
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    # --- assertions (items 1-4) -------------------------------------------------------

    def assert_block_page(self, f: Fetch, name: str, cls: str | None, http: str) -> None:
        self.assertEqual(f.exit_code, 0, f"expected a block page (client handshake completed "
                         f"with a gateway leaf), got {f.short()}\n{f.describe()}")
        self.assertEqual(f.status, "403", f"expected HTTP 403, got {f.short()}\n{f.describe()}")
        self.assertEqual(f.http_version, http, f"block page over HTTP/{http}\n{f.describe()}")
        self.assertIn(name, f.body, "the page must name the host")
        if cls:
            self.assertIn(cls, f.body, "the page must name the error class")
        self.assert_unframeable(f)

    def assert_unframeable(self, f: Fetch) -> None:
        csp = f.header("content-security-policy")
        self.assertRegex(csp, r"frame-ancestors\s+'none'",
                         f"Content-Security-Policy: {csp!r} ({f.describe()})")
        self.assertEqual(f.header("x-frame-options").upper(), "DENY", f.describe())

    def assert_body(self, f: Fetch, name: str, http: str | None = None) -> None:
        self.assertEqual(f.exit_code, 0, f"expected the body, got {f.short()}\n{f.describe()}")
        self.assertEqual(f.status, "200", f"expected the body, got {f.short()}\n{f.describe()}")
        self.assertEqual(f.body, f"site={_row(name)}\n", f.describe())
        if http:
            self.assertEqual(f.http_version, http, f.describe())

    def assert_gateway_leaf(self, hs: Handshake, name: str, *, sni_name: str | None = None):
        """The client got a leaf issued by the gateway for `name` (not the
        upstream's), and the chain verifies with the exported gateway root."""
        self.assertTrue(hs.completed, "no client handshake: " + hs.describe())
        self.assertTrue(hs.chain, hs.describe())
        leaf = hs.chain[0]
        self.assertTrue(leaf.issuer_cn.startswith(GATEWAY_ISSUER_PREFIX),
                        f"leaf issuer {leaf.issuer!r} is not the gateway's")
        row = plan.site(_row(name))
        if row.upstream.has_leaf:
            self.assertNotEqual(leaf.sha256, self.upstream_leaf(name).sha256,
                                "the upstream's own leaf reached the client")
        ok, detail = verify_chain(hs.chain, self.gateway.root_ca, sni_name or name)
        self.assertTrue(ok, f"forged chain does not verify for {sni_name or name} with the "
                        f"gateway root: {detail}")

    def assert_no_upstream_request(self, name: str, before: int) -> None:
        time.sleep(0.1)  # an nginx line is written when the request ends
        self.assertEqual(self.upstream_requests(name), before,
                         f"{name}: request bytes reached the upstream")

    def assert_tls_event(self, event: dict | None, name: str, cls: str, action: str) -> None:
        self.assertIsNotNone(event, f"no tls event for {name}\n" + self.lab.diagnostics())
        self.assertEqual(event.get("class"), cls, event)
        self.assertEqual(event.get("action"), action, event)
        row = plan.site(_row(name))
        if cls != "bad_protocol" and row.upstream.has_leaf:
            leaf = self.upstream_leaf(name)
            self.assertEqual(fingerprint(event.get("fingerprint_sha256", "")), leaf.sha256,
                             f"fingerprint is not the upstream leaf's: {event}")
            self.assertIn(f"CN={leaf.subject_cn}", event.get("subject", ""), event)
            self.assertIn(f"CN={leaf.issuer_cn}", event.get("issuer", ""), event)
            chain = event.get("chain") or []
            self.assertTrue(chain and chain[0] == event.get("subject"),
                            f"chain must start with the leaf's subject: {event}")

    # --- whole cases ------------------------------------------------------------------

    def check_blocked(self, case_id: str, name: str, cls: str | None = None,
                      action: str = "block") -> dict:
        """A certificate/protocol defect under `block`: block page on both HTTP
        versions, gateway leaf, no upstream request, tls and flow events."""
        cls = cls or plan.site(_row(name)).error_class
        with self.subTest(case=case_id), self.battery_case(case_id) as rec:
            before = self.upstream_requests(name)
            mark = self.mark()
            h1 = self.fetch(name, http="1.1")
            h2 = self.fetch(name, http="2")
            hs = self.chain(name)
            tls = self.wait_event("tls", name, mark)
            flow = self.wait_event("flow", name, mark)
            after = self.upstream_requests(name)
            for text in (describe_fetch("HTTP/1.1", h1, name, cls),
                         describe_fetch("h2", h2, name, cls), describe_handshake(hs),
                         f"upstream requests +{after - before}", describe_event(tls, "tls"),
                         describe_event(flow, "flow")):
                rec.note(text)
            self.assert_block_page(h1, name, cls, "1.1")
            self.assert_block_page(h2, name, cls, "2")
            self.assert_gateway_leaf(hs, name)
            self.assert_no_upstream_request(name, before)
            self.assert_tls_event(tls, name, cls, action)
            self.assertIsNotNone(flow, "no flow event")
            self.assertEqual(flow.get("action"), action, flow)
            return {"tls": tls, "flow": flow, "h1": h1, "h2": h2, "handshake": hs}
        return {}

    def check_passes(self, case_id: str, name: str, *, max_seconds: float | None = None):
        """Inspected: gateway leaf, the body on both HTTP versions, two upstream
        requests, no tls event, flow inspect."""
        with self.subTest(case=case_id), self.battery_case(case_id) as rec:
            before = self.upstream_requests(name)
            mark = self.mark()
            started = time.monotonic()
            h2 = self.fetch(name, http="2")
            h1 = self.fetch(name, http="1.1")
            elapsed = time.monotonic() - started
            hs = self.chain(name)
            flow = self.wait_event("flow", name, mark)
            tls = [e for e in self.events_after(mark) if e.get("type") == "tls"
                   and e.get("sni") == name]
            after = self.upstream_requests(name)
            for text in (describe_fetch("h2", h2), describe_fetch("HTTP/1.1", h1),
                         describe_handshake(hs), f"upstream requests +{after - before}",
                         f"{len(tls)} tls events", describe_event(flow, "flow"),
                         f"2 requests in {elapsed:.1f}s"):
                rec.note(text)
            self.assert_body(h2, name)
            self.assert_body(h1, name, "1.1")
            self.assert_gateway_leaf(hs, name)
            self.assertEqual(after - before, 2, "each request must reach the upstream once")
            self.assertEqual(tls, [], "a valid upstream must not produce a tls event")
            self.assertIsNotNone(flow, "no flow event")
            self.assertEqual(flow.get("action"), "inspect", flow)
            if max_seconds is not None:
                self.assertLess(elapsed, max_seconds, "two requests took too long")
            return hs
        return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _row(name: str) -> str:
    """The site row a request name belongs to (names may be normalized forms)."""
    return name.lower().rstrip(".")


def _first_line(error: BaseException) -> str:
    """The assertion's message up to its details (which follow a newline)."""
    text = str(error).strip().split("\n")[0]
    return re.sub(r"\s+", " ", text)[:700]
