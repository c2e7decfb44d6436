"""The security battery, case by case: what each lab test does and what it
expects (SECURITY-BATTERY.md numbering). battery_table.py joins this with the
recorded results into BATTERY.md; the tests name their cases by these ids.

Items asserted for every case (SECURITY-BATTERY.md "How the battery runs"):
(1) what the client sees, (2) whether the upstream logged a request, (3) the
`tls` event's class, (4) for passes, a gateway-issued leaf (fingerprint
differs from the upstream's, verifies with the exported gateway root).
"""

from __future__ import annotations

import dataclasses

# The two outcomes most cases expect; BATTERY.md spells them out once.
BLOCK_PAGE = "block page, class `{cls}`"
PASS = "pass (inspected)"
LEGEND = {
    "block page": "the client handshake completes with a gateway leaf for the name; HTTP/1.1 "
                  "and h2 requests get a 403 page naming host and class, with "
                  "Content-Security-Policy frame-ancestors 'none' and X-Frame-Options DENY; "
                  "no request reaches the upstream; a tls event with the class, action block, "
                  "the upstream leaf's fingerprint, subject, issuer and chain; a flow event "
                  "action block",
    "pass (inspected)": "the client gets a gateway-issued leaf (not the upstream's; verifies "
                        "with the exported gateway root) and the body over h2 and HTTP/1.1; "
                        "both requests reach the upstream; no tls event; flow action inspect",
}


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    title: str
    does: str
    expected: str
    test: str  # unittest id, relative to tests/lab


def _blocked(cid, title, site, cls, test, extra=""):
    return Case(cid, title, f"curl --http1.1, curl --http2, s_client to {site}{extra}",
                BLOCK_PAGE.format(cls=cls), test)


_C = "test_battery_certs.BatteryCertsTest"
_R = "test_battery_certs.BatteryRevocationTest"
_P = "test_battery_protocol.BatteryProtocolTest"
_G = "test_battery_pages.BatteryPagesTest"
_S = "test_battery_robustness.BatterySniTest"
_B = "test_battery_robustness.BatteryRobustnessTest"
_K = "test_battery_robustness.BatteryCaKeyTest"
_D = "test_battery_upstreams.BatteryUpstreamsTest"
_O = "test_battery_own_ca.BatteryOwnCaTest"

CASES: tuple[Case, ...] = (
    Case("0", "the battery's upstreams really are defective",
         "without a gateway: openssl s_client / gnutls-cli from the client to every battery "
         "upstream, checking the served defect (verify error, protocol, cipher, DH size, "
         "staple status)", "each upstream shows exactly its defect", f"{_D}.test_every_upstream"),
    Case("1", "valid chain (control)", "curl h2 + HTTP/1.1 and s_client to c01-valid",
         PASS, f"{_C}.test_01_valid_chain"),
    _blocked("2", "expired leaf", "c02-expired", "expired", f"{_C}.test_02_expired",
             "; s_client -alpn imap"),
    Case("2-alpn", "blocked, client offers only a non-HTTP ALPN",
         "s_client -alpn imap to c02-expired", "TLS alert, no page, 0 upstream requests",
         f"{_C}.test_02_expired"),
    _blocked("3", "not-yet-valid leaf", "c03-not-yet-valid", "not_yet_valid",
             f"{_C}.test_03_not_yet_valid"),
    _blocked("4", "hostname mismatch (SAN other.lab.test)", "c04-mismatch",
             "hostname_mismatch", f"{_C}.test_04_hostname_mismatch"),
    _blocked("5", "self-signed leaf", "c05-self-signed", "self_signed",
             f"{_C}.test_05_self_signed"),
    _blocked("6a", "chain to an untrusted root (root not sent)", "c06-unknown-root",
             "untrusted_root", f"{_C}.test_06_unknown_root"),
    _blocked("6b", "chain to an untrusted root (root sent)", "c06-unknown-root-sent",
             "untrusted_root", f"{_C}.test_06_unknown_root"),
    _blocked("7", "corrupted leaf signature (one bit of the signature BIT STRING)",
             "c07-bad-signature", "invalid_signature", f"{_C}.test_07_corrupted_signature"),
    _blocked("8", "leaf signed by a CA:FALSE leaf posing as intermediate",
             "c08-non-ca-issuer", "not_a_ca", f"{_C}.test_08_non_ca_issuer"),
    _blocked("9a", "EKU clientAuth only", "c09-eku-client", "bad_usage",
             f"{_C}.test_09_key_usage"),
    _blocked("9b", "keyUsage keyCertSign only", "c09-ku-certsign", "bad_usage",
             f"{_C}.test_09_key_usage"),
    _blocked("10a", "MD5 signature on the leaf (RSA intermediate)", "c10-md5-leaf",
             "weak_signature", f"{_C}.test_10_weak_signatures"),
    _blocked("10b", "SHA-1 signature on the leaf", "c10-sha1-leaf", "weak_signature",
             f"{_C}.test_10_weak_signatures"),
    _blocked("10c", "MD5 signature on the intermediate (RSA root)", "c10-md5-intermediate",
             "weak_signature", f"{_C}.test_10_weak_signatures"),
    _blocked("10d", "SHA-1 signature on the intermediate", "c10-sha1-intermediate",
             "weak_signature", f"{_C}.test_10_weak_signatures"),
    _blocked("11a", "RSA-512 leaf (server TLS 1.2 only)", "c11-rsa512", "weak_key",
             f"{_C}.test_11_weak_keys"),
    _blocked("11b", "RSA-1024 leaf", "c11-rsa1024", "weak_key", f"{_C}.test_11_weak_keys"),
    _blocked("11c", "RSA-1024 intermediate", "c11-rsa1024-intermediate", "weak_key",
             f"{_C}.test_11_weak_keys"),
    _blocked("12a", "revoked via CRL (CRL served over HTTP at the CRL DP address)",
             "c12-crl-revoked", "revoked", f"{_R}.test_12_revocation_soft_fail"),
    _blocked("12b", "revoked via stapled OCSP (nginx ssl_stapling_file)", "c12-ocsp-revoked",
             "revoked", f"{_C}.test_12_stapled_ocsp"),
    Case("12c-soft", "revocation information unreachable, revocation = soft_fail",
         "curl/s_client to c12-crl-unreachable (CRL DP and OCSP URL refuse connections)",
         "inspected (gateway leaf, body, upstream request) and an event about the "
         "unavailable revocation information", f"{_R}.test_12_revocation_soft_fail"),
    Case("12c-hard", "revocation information unreachable, revocation = hard_fail",
         "gateway restarted with hard_fail; curl/s_client to c12-crl-unreachable",
         "block page, 0 upstream requests, tls event class revocation_unknown action block, "
         "flow block",
         f"{_R}.test_12_revocation_hard_fail"),
    Case("12d", "CRL reachable, leaf not revoked (control, soft and hard fail)",
         "curl/s_client to c12-crl-good", PASS, f"{_R}.test_12_revocation_soft_fail"),
    Case("12e", "stapled OCSP 'good' (control)", "curl/s_client to c12-ocsp-good", PASS,
         f"{_C}.test_12_stapled_ocsp"),
    _blocked("12f", "OCSP must-staple leaf (TLS Feature status_request), no staple sent",
             "c12-must-staple", "revocation_unknown", f"{_C}.test_12_must_staple"),
    Case("12g", "OCSP must-staple leaf with a 'good' staple (control)",
         "curl/s_client to c12-must-staple-good", PASS, f"{_C}.test_12_must_staple"),
    _blocked("13", "CN only, no SAN (no CN fallback)", "c13-cn-only", "hostname_mismatch",
             f"{_C}.test_13_cn_only"),
    _blocked("14a", "*.lab.test presented for a.c14-wildcard.lab.test", "a.c14-wildcard",
             "hostname_mismatch", f"{_C}.test_14_wildcards"),
    _blocked("14b", "*.test presented for c14-tld.test", "c14-tld.test",
             "hostname_mismatch", f"{_C}.test_14_wildcards"),
    _blocked("14c", "f*.lab.test presented for f14-partial.lab.test", "f14-partial",
             "hostname_mismatch", f"{_C}.test_14_wildcards"),
    Case("14d", "*.lab.test for c14-wildcard-ok.lab.test (control)",
         "curl/s_client to c14-wildcard-ok", PASS, f"{_C}.test_14_wildcards"),
    _blocked("15", "incomplete chain (leaf only)", "c15-leaf-only", "incomplete_chain",
             f"{_C}.test_15_leaf_only"),
    Case("16", "chain reversed with extra certificates (leaf, root, unrelated CA, "
         "intermediate)", "curl/s_client to c16-reversed-chain", PASS,
         f"{_C}.test_16_reversed_chain"),
    Case("17a", "1000 SANs", "curl/s_client to c17-1000-sans, timed",
         PASS + "; both requests within 5 s", f"{_C}.test_17_many_sans"),
    Case("17b", "10000 SANs (~420 KB certificate)", "curl/s_client to c17-10000-sans, then a "
         "valid site", BLOCK_PAGE.format(cls="bad_protocol") + "; gateway still serving",
         f"{_C}.test_17_many_sans"),
    Case("18", "forged leaf fields", "s_client to c18-forged-fields (RSA-2048 upstream, 2 "
         "SANs, 800-day validity) and to c01-valid; openssl x509 -text on the forged leaves",
         "CA:FALSE, EKU serverAuth only, keyUsage digitalSignature (no certSign/cRLSign), "
         "SANs within the upstream's and including the name, validity within the upstream's "
         "and at most 398 days, SHA-256+ signature, key >= P-256/RSA-2048, serial >= 64 bits "
         "and unique", f"{_C}.test_18_forged_leaf_fields"),
    Case("19", "under allow, CA:TRUE / keyCertSign / policy OIDs are not copied",
         "rule untrusted_server_cert=allow for c19-allow-ca-leaf (self-signed, CA:TRUE, "
         "keyCertSign, 2 policy OIDs); curl + s_client",
         "body arrives; forged leaf CA:FALSE, no keyCertSign, no certificatePolicies; tls "
         "event class self_signed action allow", f"{_G}.test_19_allow_never_copies_ca_fields"),
    Case("20", "the gateway's upstream ClientHello",
         "relay in front of nginx records the gateway's ClientHello to c20-client-hello",
         "TLS 1.2-1.3 only, every suite ECDHE/TLS1.3 + AEAD, no RC4/DES/3DES/EXPORT/NULL/"
         "anon/MD5/CBC, compression null only, no SHA-1/MD5 signature algorithms, SNI = the "
         "name; the flow itself passes", f"{_P}.test_20_upstream_client_hello"),
    _blocked("21a", "server speaks only TLS 1.0", "c21-tls10", "bad_protocol",
             f"{_P}.test_21_old_protocols"),
    _blocked("21b", "server speaks only TLS 1.1", "c21-tls11", "bad_protocol",
             f"{_P}.test_21_old_protocols"),
    _blocked("22a", "server offers only RC4 (gnutls-serv)", "c22-rc4", "bad_protocol",
             f"{_P}.test_22_weak_ciphers"),
    _blocked("22b", "server offers only 3DES (gnutls-serv)", "c22-3des", "bad_protocol",
             f"{_P}.test_22_weak_ciphers"),
    _blocked("22c", "server offers only NULL ciphers", "c22-null", "bad_protocol",
             f"{_P}.test_22_weak_ciphers"),
    _blocked("22d", "server offers only static-RSA CBC", "c22-static-rsa-cbc", "bad_protocol",
             f"{_P}.test_22_weak_ciphers"),
    _blocked("23", "server offers only DHE with a 1024-bit group", "c23-dhe-1024",
             "bad_protocol", f"{_P}.test_23_weak_dhe"),
    Case("24a", "client-facing: TLS 1.1 client", "s_client -tls1_1 @SECLEVEL=0 to "
         "c24-listener", "handshake refused with an alert; 0 upstream requests",
         f"{_P}.test_24_client_facing_listener"),
    Case("24b", "client-facing: CBC-only / non-ECDHE client", "s_client -tls1_2 with only "
         "ECDHE-*-CBC, then only static-RSA GCM, then only DHE GCM",
         "each refused with an alert; 0 upstream requests",
         f"{_P}.test_24_client_facing_listener"),
    Case("24c", "client-facing: renegotiation", "s_client -tls1_2, 'R' on stdin, then a "
         "request", "renegotiation refused (no second handshake)",
         f"{_P}.test_24_client_facing_listener"),
    Case("24d", "client-facing: compression", "raw TLS 1.2 ClientHello offering DEFLATE and "
         "null", "ServerHello selects null compression, an ECDHE AEAD suite",
         f"{_P}.test_24_client_facing_listener"),
    Case("25", "ALPN mirrors the upstream", "curl (h2,http/1.1) and s_client -alpn to c25-h2 "
         "and c25-http11 (nginx without http2); curl --http1.1 to c25-h2",
         "h2 both sides for c25-h2; http/1.1 both sides for c25-http11; http/1.1 both "
         "sides when the client offers only http/1.1", f"{_P}.test_25_alpn"),
    Case("26", "pages escape echoed values", "block page for c26-hostile (self-signed, "
         "subject O with <script> and quotes), requested with a hostile path, h2 and "
         "HTTP/1.1", "403 page naming host and class; no raw '<script>'/'<b>' from the "
         "subject or path in the page", f"{_G}.test_26_pages_escape"),
    Case("27", "continue token binding and expiry", "prompt page for c27-prompt; follow "
         "its continue link; replay the token for c27-prompt-other and from the second "
         "client address; re-request after prompt_exception_ttl; change the upstream "
         "certificate", "redirect back, then the body (upstream request) for the same "
         "client only; replay for another host or address refused; warning again after "
         "expiry and after the certificate changed", f"{_G}.test_27_continue_token"),
    Case("28", "zero upstream bytes while the warning is shown", "prompt page for "
         "c28-prompt-quiet, h2 and HTTP/1.1, a POST with a body",
         "warning page (same framing headers), tls event action prompt, 0 upstream requests",
         f"{_G}.test_28_no_upstream_bytes_before_continue"),
    Case("29", "pages cannot be framed", "block page (c29-framing) and prompt page "
         "(c28-prompt-quiet) over h2 and HTTP/1.1",
         "Content-Security-Policy frame-ancestors 'none' and X-Frame-Options DENY on every "
         "page", f"{_G}.test_29_framing_headers"),
    Case("30", "upstream requires a client certificate", "nginx ssl_verify_client on at "
         "c30-client-cert; curl h2/HTTP/1.1, s_client",
         "block page or alert naming a client-certificate reason; 0 upstream requests (no "
         "nginx 400 'No required SSL certificate')", f"{_G}.test_30_client_certificate"),
    Case("policy-ca", "untrusted_server_cert = untrusted_ca (rule)", "curl with the gateway "
         "root, s_client, curl -k to p-untrusted-ca",
         "leaf issued by a CA whose CN contains UNTRUSTED; curl exit 60; -k gets the body; "
         "tls event action untrusted_ca", f"{_G}.test_policy_untrusted_ca"),
    Case("policy-allow", "untrusted_server_cert = allow (rule, inline table "
         "{default=block, hostname_mismatch=allow})", "curl to p-allow",
         "body arrives with a gateway leaf; tls event class hostname_mismatch action allow",
         f"{_G}.test_policy_allow_and_inline_default"),
    Case("policy-block", "inline table default = block", "curl to p-block (same defect as "
         "p-allow, rule without the override)", BLOCK_PAGE.format(cls="hostname_mismatch"),
         f"{_G}.test_policy_allow_and_inline_default"),
    Case("31", "the root is generated per installation", "a second gateway install "
         "(fresh state_dir) in the same lab; restart with the first state_dir",
         "different root keys per install; the same root after a restart",
         f"{_K}.test_31_to_33_ca_keys"),
    Case("32", "CA keys: mode 0600, owner, never logged", "stat every key file under "
         "<state_dir> (CA keys, the continue-token key); grep the gateway's stderr, stdout "
         "and events for key material", "keys 0600 owned by the daemon's user, CA directory "
         "not open to others, no key material in any log", f"{_K}.test_31_to_33_ca_keys"),
    Case("33", "the gateway CA's extensions", "openssl x509 -text on the exported root and "
         "the served intermediate", "CA:TRUE critical with pathlen, keyUsage critical "
         "keyCertSign+cRLSign only", f"{_K}.test_31_to_33_ca_keys"),
    Case("34a", "no SNI, certificate without the address", "s_client -noservername and curl "
         "https://<ip>/ to c34-no-sni", "blocked as hostname_mismatch (validated against the "
         "address); no leaf naming the upstream's DNS names; 0 upstream requests",
         f"{_S}.test_34_no_sni"),
    Case("34b", "no SNI, certificate with the address as IP SAN", "curl https://<ip>/ to "
         "c34-ip-san", "inspected: gateway leaf with the IP SAN, body",
         f"{_S}.test_34_no_sni"),
    Case("34c", "no SNI, destination rule", "s_client -noservername to c34-dst-rule (rule "
         "dst = its address, action block)", "blocked by that rule; 0 upstream requests",
         f"{_S}.test_34_no_sni"),
    Case("35a", "malformed ClientHellos", "raw hellos to c35-malformed: inner lengths "
         "truncated, two SNI extensions, two names in one SNI, 300-byte name, 64-byte label, "
         "NUL in the name, IP literal as SNI",
         "each: TLS alert, flow action block, no upstream connection",
         f"{_S}.test_35_malformed_client_hellos"),
    Case("35b", "truncated ClientHello then EOF", "half a record, then the client "
         "half-closes", "connection closed, no upstream connection, gateway alive",
         f"{_S}.test_35_malformed_client_hellos"),
    Case("35c", "trailing dot and upper case", "s_client -servername 'C35-Normalized.Lab."
         "Test.' with a request; s_client -servername 'C35-BLOCKED.lab.test.'",
         "one normalized name for policy (the SNI block rule matches), upstream SNI "
         "(nginx logs c35-normalized.lab.test), validation and the forged SAN",
         f"{_S}.test_35_normalized_names"),
    Case("36a", "upstream accepts TCP and never answers", "curl to c36-stall "
         "(handshake_timeout 2s)", "refused within the timeout (page or alert), flow block "
         "naming a timeout; never the upstream's silence passed on",
         f"{_B}.test_36_unresponsive_upstreams"),
    Case("36b", "upstream refuses the connection", "curl to c36-refused",
         "refused (page or alert), flow block naming the failure",
         f"{_B}.test_36_unresponsive_upstreams"),
    Case("36c", "upstream unreachable (packets dropped)", "curl to c36-blackhole "
         "(connect_timeout 2s)", "refused within the timeout, flow block naming a timeout",
         f"{_B}.test_36_unresponsive_upstreams"),
    Case("37", "200 parallel connections across failing cases", "200 TLS connections at "
         "once (python ssl) to 6 failing sites and c01-valid",
         "no crash; every connection's answer (page) and flow event name its own host and "
         "class; valid ones get their body", f"{_B}.test_37_parallel_failures"),
    Case("38", "first connection after a (re)start", "restart the gateway; first "
         "connection to c38-restart (expired), then c01-valid",
         "first connection blocked as expired; valid site inspected",
         f"{_B}.test_38_first_connection_after_restart"),
    Case("own-ca", "chain ending at the gateway's own CA, which is also in the upstream trust "
         "store", "the lab's gateway CA installed as the gateway's CA and added to its "
         "trust_store; curl --http1.1, curl --http2, s_client to c39-own-ca (leaf issued by "
         "that CA)", BLOCK_PAGE.format(cls="untrusted_root") + "; the tls event's detail names "
         "the gateway's own CA", f"{_O}.test_own_ca_never_accepted_upstream"),
    Case("own-ca-control", "valid site with the gateway root in the trust store (control)",
         "curl/s_client to c01-valid", PASS, f"{_O}.test_own_ca_never_accepted_upstream"),
    Case("own-ca-cross", "chain through a cross-certificate of the gateway root issued by a "
         "trusted root", "gateway restarted with only the lab roots trusted; curl/s_client to "
         "c39-own-ca-cross (a leaf issued by the gateway root, then the lab root's "
         "cross-certificate of the gateway root, which the gateway never saw)", BLOCK_PAGE.format(cls="untrusted_root") + " (matched by public "
         "key)", f"{_O}.test_own_ca_never_accepted_upstream"),
    Case("non_tls", "plain HTTP on port 443", "GET / as cleartext to cx-non-tls:443",
         "connection closed without an answer, flow event reason non_tls, 0 upstream "
         "requests", f"{_B}.test_non_tls_on_443"),
)


def case(case_id: str) -> Case:
    for c in CASES:
        if c.id == case_id:
            return c
    raise KeyError(f"no battery case {case_id!r}")


def cases_of(test_class: str) -> list[Case]:
    """The cases a test class records (for reporting a class that could not start)."""
    return [c for c in CASES if c.test.rsplit(".", 1)[0] == test_class]
