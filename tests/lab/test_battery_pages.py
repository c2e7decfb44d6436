"""Security battery cases 19 and 26-30 and the four untrusted_server_cert
policies: block and warning pages (escaping, framing, the continue token and
its bindings, nothing sent upstream before continuing), untrusted_ca, allow,
a server demanding a client certificate. One lab for the class, with a
gateway configured for prompt on `expired` and per-rule policies."""

import re
import time
import unittest
import urllib.parse

import lab_sites as plan
from lab_battery import (BatteryTestCase, FAST_TIMEOUTS, describe_event, describe_fetch,
                         describe_handshake)
from lab_gateway import LAB_RULES
from lab_pages import continue_action
from lab_probe import Fetch, cert_details

PAGE_SITES = tuple(s.name for s in plan.BATTERY_SITES
                   if plan.case_number(s) in (19, 26, 27, 28, 29, 30)
                   or (s.case or "").startswith("policy"))
EXCEPTION_TTL_S = 5
SECOND_CLIENT = plan.client_address(4, plan.SECOND_CLIENT_HOST)
HOSTILE_PATH = '/<script>alert("tg26p")</script>?q="tg26q"&x=<i>tg26i</i>'
ENCODED_PATH = "/%3Cscript%3Ealert(%22tg26e%22)%3C/script%3E"
# A tag from the hostile subject or path, raw in the page (RFC 2253 may put a
# backslash before '>' in the subject: "\<script\>" is still a raw tag).
RAW_TAG = re.compile(r"<\s*(script|b|i)[\s>\\/]", re.I)
# The same, escaped (informative: a page that echoes nothing has nothing to escape).
ESCAPED_TAG = re.compile(r"&lt;\s*(script|b|i)\b", re.I)


class BatteryPagesTest(BatteryTestCase):
    SITE_NAMES = PAGE_SITES
    SETTINGS = {
        "gateway": FAST_TIMEOUTS,
        "upstream": {"untrusted_server_cert": {"default": "block", "expired": "prompt"},
                     "prompt_exception_ttl": f"{EXCEPTION_TTL_S}s"},
    }
    RULES = LAB_RULES + (
        {"name": "untrusted-ca-site", "action": "inspect", "sni": ["p-untrusted-ca.lab.test"],
         "untrusted_server_cert": "untrusted_ca"},
        {"name": "allow-mismatch", "action": "inspect", "sni": ["p-allow.lab.test"],
         "untrusted_server_cert": {"default": "block", "hostname_mismatch": "allow"}},
        {"name": "allow-ca-leaf", "action": "inspect", "sni": ["c19-allow-ca-leaf.lab.test"],
         "untrusted_server_cert": "allow"},
    )

    # --- helpers ----------------------------------------------------------------------

    def assert_warning_page(self, f: Fetch, name: str) -> None:
        self.assertEqual(f.exit_code, 0, f"expected a warning page, got {f.short()}\n"
                         + f.describe())
        self.assertIn(name, f.body, "the warning page must name the host: " + f.describe())
        self.assertFalse(f.body.startswith("site="), "the upstream answered: " + f.describe())
        self.assert_unframeable(f)
        self.assertIsNotNone(continue_action(f.body, name),
                             "no continue link/form in the warning page: " + f.body[:600])

    def follow(self, action, host: str, **kwargs) -> Fetch:
        path = action.path_and_query
        data = None
        if action.method == "POST":
            data = action.fields
        elif action.fields:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(action.fields)
        return self.fetch(host, path=path, data=data, http="1.1", **kwargs)

    def assert_redirect_back(self, f: Fetch, name: str) -> None:
        self.assertEqual(f.exit_code, 0, f.describe())
        self.assertIn(f.status, ("301", "302", "303", "307", "308"),
                      "continuing must redirect back: " + f.describe())
        location = urllib.parse.urlsplit(f.header("location"))
        self.assertIn(location.hostname, (name, None), f"redirect elsewhere: {f.describe()}")

    def assert_not_granted(self, f: Fetch, name: str) -> None:
        """A refused continue: no redirect into the site, no upstream answer."""
        granted = f.exit_code == 0 and f.status.startswith("3")
        self.assertFalse(granted, f"replayed token accepted for {name}: {f.describe()}")
        self.assertFalse(f.body.startswith("site="), f.describe())

    # --- 26 -------------------------------------------------------------------------

    def test_26_pages_escape(self):
        name = "c26-hostile.lab.test"
        with self.subTest(case="26"), self.battery_case("26") as rec:
            before = self.upstream_requests(name)
            pages = {(http, path): self.fetch(name, http=http, path=path)
                     for http in ("1.1", "2") for path in (HOSTILE_PATH, ENCODED_PATH)}
            for (http, path), f in pages.items():
                raw = RAW_TAG.findall(f.body)
                escaped = ESCAPED_TAG.findall(f.body)
                kind = "raw" if path == HOSTILE_PATH else "encoded"
                rec.note(describe_fetch(f"HTTP/{http} {kind} path", f, name, "self_signed")
                         + f", {len(escaped)} escaped echoes" + (f" RAW {raw}" if raw else ""))
            for (http, _), f in pages.items():
                self.assert_block_page(f, name, "self_signed", http)
                self.assertIsNone(RAW_TAG.search(f.body), "echoed without escaping")
            self.assert_no_upstream_request(name, before)

    # --- 27 / 28 ----------------------------------------------------------------------

    def test_27_continue_token(self):
        name, other = "c27-prompt.lab.test", "c27-prompt-other.lab.test"
        with self.subTest(case="27"), self.battery_case("27") as rec:
            before = self.upstream_requests(name)
            mark = self.mark()
            page = self.fetch(name, http="1.1")
            rec.note(describe_fetch("warning", page, name))
            self.assert_warning_page(page, name)
            tls = self.wait_event("tls", name, mark)
            rec.note(describe_event(tls, "tls"))
            self.assert_tls_event(tls, name, "expired", "prompt")
            action = continue_action(page.body, name)
            rec.note(f"continue: {action.method} {action.path_and_query[:60]}...")
            self.assertEqual(action.host, name, "continue must stay on the host")

            # Replays: another host, another client address.
            other_before = self.upstream_requests(other)
            replay_host = self.follow(action, other)
            replay_client = self.follow(action, name, source=SECOND_CLIENT)
            rec.note(f"replay for {other}: {replay_host.short()}; from {SECOND_CLIENT}: "
                     f"{replay_client.short()}")
            self.assert_not_granted(replay_host, other)
            self.assert_not_granted(replay_client, name)
            self.assert_warning_page(self.fetch(other, http="1.1"), other)
            self.assertEqual(self.upstream_requests(other), other_before)
            self.assert_no_upstream_request(name, before)

            # The real continue, then the exception for this client only.
            granted_at = time.monotonic()
            redirect = self.follow(action, name)
            rec.note(f"continue: {redirect.short()} -> {redirect.header('location')}")
            self.assert_redirect_back(redirect, name)
            after = self.fetch(name, http="2")
            rec.note(describe_fetch("after continue", after))
            self.assert_body(after, name)
            self.assertEqual(self.upstream_requests(name), before + 1)
            elsewhere = self.fetch(name, http="1.1", source=SECOND_CLIENT)
            rec.note(describe_fetch(f"from {SECOND_CLIENT}", elsewhere, name))
            self.assert_warning_page(elsewhere, name)

            # Expiry.
            time.sleep(max(0.0, EXCEPTION_TTL_S + 1.5 - (time.monotonic() - granted_at)))
            expired = self.fetch(name, http="1.1")
            rec.note(describe_fetch(f"after {EXCEPTION_TTL_S}s ttl", expired, name))
            self.assert_warning_page(expired, name)
            self.assertEqual(self.upstream_requests(name), before + 1)

            # Bound to the certificate: a new upstream certificate needs a new continue.
            again = continue_action(expired.body, name)
            self.assert_redirect_back(self.follow(again, name), name)
            self.assert_body(self.fetch(name), name)
            self.lab.pki.reissue_leaf(plan.site(name))
            self.lab.nginx.reload()
            changed = self.fetch(name, http="1.1")
            rec.note(describe_fetch("after the upstream certificate changed", changed, name))
            self.assert_warning_page(changed, name)
            self.assertEqual(self.upstream_requests(name), before + 2)

    def test_28_no_upstream_bytes_before_continue(self):
        name = "c28-prompt-quiet.lab.test"
        with self.subTest(case="28"), self.battery_case("28") as rec:
            before = self.upstream_requests(name)
            mark = self.mark()
            pages = [self.fetch(name, http="1.1"), self.fetch(name, http="2"),
                     self.fetch(name, http="1.1", data={"secret": "tg28-body"})]
            tls = self.wait_event("tls", name, mark)
            for label, f in zip(("HTTP/1.1 GET", "h2 GET", "HTTP/1.1 POST"), pages):
                rec.note(describe_fetch(label, f, name))
            rec.note(describe_event(tls, "tls"))
            rec.note(f"upstream requests +{self.upstream_requests(name) - before}")
            for f in pages:
                self.assert_warning_page(f, name)
            self.assert_tls_event(tls, name, "expired", "prompt")
            self.assert_no_upstream_request(name, before)

    # --- 29 -------------------------------------------------------------------------

    def test_29_framing_headers(self):
        with self.subTest(case="29"), self.battery_case("29") as rec:
            pages = {(n, http): self.fetch(n, http=http)
                     for n in ("c29-framing.lab.test", "c28-prompt-quiet.lab.test")
                     for http in ("1.1", "2")}
            for (n, http), f in pages.items():
                rec.note(f"{n} HTTP/{http}: {f.short()} CSP {f.header('content-security-policy')!r}"
                         f" XFO {f.header('x-frame-options')!r}")
            for f in pages.values():
                self.assertEqual(f.exit_code, 0, f.describe())
                self.assert_unframeable(f)

    # --- 30 -------------------------------------------------------------------------

    def test_30_client_certificate(self):
        name = "c30-client-cert.lab.test"
        with self.subTest(case="30"), self.battery_case("30") as rec:
            before = self.upstream_requests(name)
            mark = self.mark()
            h1 = self.fetch(name, http="1.1")
            h2 = self.fetch(name, http="2")
            flow = self.wait_event("flow", name, mark)
            tls = self.wait_event("tls", name, mark, timeout_s=1.0)
            after = self.upstream_requests(name)
            for text in (describe_fetch("HTTP/1.1", h1, name), describe_fetch("h2", h2, name),
                         f"upstream requests +{after - before}", describe_event(tls, "tls"),
                         describe_event(flow, "flow")):
                rec.note(text)
            for f in (h1, h2):
                self.assertNotIn("No required SSL certificate", f.body,
                                 "the request reached the upstream")
                if f.exit_code == 0:
                    self.assertEqual(f.status, "403", f.describe())
            self.assert_no_upstream_request(name, before)
            reasons = " ".join(str(e) for e in (tls, flow) if e)
            self.assertRegex(reasons.lower(), r"client.?cert",
                             "the events must name the client-certificate demand")
            self.assertEqual(flow and flow.get("action"), "block", flow)

    # --- policies ---------------------------------------------------------------------

    def test_policy_untrusted_ca(self):
        name = "p-untrusted-ca.lab.test"
        with self.subTest(case="policy-ca"), self.battery_case("policy-ca") as rec:
            before = self.upstream_requests(name)
            mark = self.mark()
            strict = self.fetch(name)
            hs = self.chain(name)
            lenient = self.fetch(name, insecure=True)
            tls = self.wait_event("tls", name, mark)
            for text in (describe_fetch("with the gateway root", strict),
                         describe_handshake(hs), describe_fetch("-k", lenient),
                         describe_event(tls, "tls")):
                rec.note(text)
            self.assertEqual(strict.exit_code, 60, "the client must see an untrusted "
                             f"certificate, got {strict.short()}\n" + strict.describe())
            self.assertTrue(hs.completed and hs.chain, hs.describe())
            self.assertIn("UNTRUSTED", hs.chain[0].issuer_cn, hs.describe())
            self.assert_body(lenient, name)
            self.assertEqual(self.upstream_requests(name), before + 1)
            self.assert_tls_event(tls, name, "self_signed", "untrusted_ca")

    def test_policy_allow_and_inline_default(self):
        name = "p-allow.lab.test"
        with self.subTest(case="policy-allow"), self.battery_case("policy-allow") as rec:
            before = self.upstream_requests(name)
            mark = self.mark()
            f = self.fetch(name)
            hs = self.chain(name)
            tls = self.wait_event("tls", name, mark)
            for text in (describe_fetch("h2", f), describe_handshake(hs),
                         describe_event(tls, "tls")):
                rec.note(text)
            self.assert_body(f, name)
            self.assert_gateway_leaf(hs, name)
            self.assertEqual(self.upstream_requests(name), before + 1)
            self.assert_tls_event(tls, name, "hostname_mismatch", "allow")
        self.check_blocked("policy-block", "p-block.lab.test")

    def test_19_allow_never_copies_ca_fields(self):
        name = "c19-allow-ca-leaf.lab.test"
        with self.subTest(case="19"), self.battery_case("19") as rec:
            mark = self.mark()
            f = self.fetch(name)
            hs = self.chain(name)
            tls = self.wait_event("tls", name, mark)
            rec.note(describe_fetch("h2", f))
            rec.note(describe_event(tls, "tls"))
            self.assert_body(f, name)
            self.assert_gateway_leaf(hs, name)
            forged = cert_details(hs.chain[0].pem)
            upstream = cert_details(self.upstream_leaf(name).pem)
            rec.note(f"upstream: {upstream.basic_constraints}, KU {upstream.key_usage}, "
                     f"policies {upstream.has_policies}; forged: {forged.basic_constraints}, "
                     f"KU {forged.key_usage}, policies {forged.has_policies}, SAN "
                     f"{forged.dns_names}")
            self.assertEqual(forged.basic_constraints, "CA:FALSE")
            self.assertNotIn("Certificate Sign", forged.key_usage)
            self.assertNotIn("CRL Sign", forged.key_usage)
            self.assertFalse(forged.has_policies, "policy OIDs copied into the forged leaf")
            self.assertIn(name, forged.dns_names)
            self.assertLessEqual(set(forged.dns_names), set(upstream.dns_names))
            self.assert_tls_event(tls, name, "self_signed", "allow")


if __name__ == "__main__":
    unittest.main()
