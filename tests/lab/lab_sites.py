"""The lab's upstream sites and its address plan.

Every site gets its own IPv4 and IPv6 address on the server namespace (some
proxies connect upstream without SNI, so shared addresses would give false
passes), its own server (an nginx server block with its own access log for
most) and a leaf certificate described by a LeafProfile. New cases are new
rows in SITES.

Rows without a `case` are the core lab (demo, gateway tests); a Lab brings up
those unless it is given other rows. Rows with a `case` are the security
battery (../shared/SECURITY-BATTERY.md numbering, see battery_cases.py).
"""

from __future__ import annotations

import dataclasses
import ipaddress

# Addresses are the same in every lab instance: each instance lives in its own
# namespaces, and nothing routes between instances or to the host.
LAN_V4 = ipaddress.ip_network("10.240.1.0/24")
WAN_V4 = ipaddress.ip_network("10.240.2.0/24")
SITES_V4 = ipaddress.ip_network("10.240.3.0/24")
LAN_V6 = ipaddress.ip_network("fd00:7467:1::/64")
WAN_V6 = ipaddress.ip_network("fd00:7467:2::/64")
SITES_V6 = ipaddress.ip_network("fd00:7467:3::/64")

ROUTER_HOST = 1  # host number of the router on LAN and WAN
CLIENT_HOST = 2  # on the LAN
SECOND_CLIENT_HOST = 3  # another LAN client (token binding), same namespace
SERVER_HOST = 2  # on the WAN
FIRST_SITE_HOST = 10

# Loopback ports in the server namespace for servers reached through a relay
# (see Upstream.kind): base + the site's index.
RELAYED_NGINX_PORT_BASE = 20000
GNUTLS_PORT_BASE = 21000


@dataclasses.dataclass(frozen=True)
class LeafProfile:
    """How a site's leaf certificate is made (days are relative to now)."""

    not_before_days: int = -1
    not_after_days: int = 90
    # None: the site's own name. () : no SAN extension at all (CN only).
    dns_names: tuple[str, ...] | None = None
    ip_san: bool = False  # the site's own IPv4 and IPv6 as IP SANs
    extra_sans: int = 0  # generated names "n<i>.<site>" after the others
    key: str = "ec"  # ec (P-256) | rsa512 | rsa1024 | rsa2048
    issuer: str = "intermediate"  # a name in lab_pki.ISSUERS, or "self"
    digest: str = "sha256"
    basic_constraints: str = "critical,CA:FALSE"
    key_usage: str = "critical,digitalSignature"
    ext_key_usage: str | None = "serverAuth"
    policies: str | None = None  # certificatePolicies, e.g. "1.2.3.4"
    organization: str = "Lab Test"  # subject O (hostile values for page escaping)
    corrupt_signature: bool = False  # one bit of the signature value flipped
    # What follows the leaf in the served chain: "issuer" (its issuer's chain
    # up to, not including, the root), "leaf_only", "with_root" (issuer chain
    # and the root), "reversed_extra" (root, an unrelated CA, then the issuer),
    # "cross_to_lab_root" (issuer chain, then its root cross-certified by the
    # lab root).
    chain: str = "issuer"
    revoked: bool = False  # listed in the lab CRL / OCSP database
    crl_dp: str | None = None  # "lab": the lab CRL server; "refused": nothing listens
    staple: str | None = None  # nginx staples an OCSP response: "revoked" | "good"
    must_staple: bool = False  # TLS Feature status_request (RFC 7633, "OCSP must-staple")

    @property
    def expired(self) -> bool:
        return self.not_after_days < 0


@dataclasses.dataclass(frozen=True)
class Upstream:
    """What answers on the site's address.

    kind:
      nginx        nginx on <address>:443 (the default)
      relay_nginx  nginx on 127.0.0.1:<RELAYED_NGINX_PORT_BASE+index>, reached
                   through lab_tcp_server.py on <address>:443, which records
                   the raw bytes (the gateway's ClientHello)
      gnutls       gnutls-serv (ciphers Debian's OpenSSL cannot serve) on
                   port GNUTLS_PORT_BASE+index, through the same relay
      stall        lab_tcp_server.py accepts and reads, never answers
      http_peer    lab_http_peer.py: HTTP/1.1 that echoes each request as its
                   response body, WebSocket echo on /ws, byte echo for
                   anything that is not HTTP
      refused      the address exists, nothing listens (TCP reset)
      blackhole    the address is routed to the server but not assigned there
      crl          nginx, plain HTTP on <address>:80, serving the lab CRL

    docroot: nginx serves files from its docroot for the site (Nginx.docroot)
    instead of the one-line answer: /gz/ adds `Content-Encoding: gzip` to what
    it serves, /chunked/ answers without Content-Length (chunked over
    HTTP/1.1), /upload answers any method with one line.
    """

    kind: str = "nginx"
    protocols: str = "TLSv1.2 TLSv1.3"
    ciphers: str | None = None  # nginx ssl_ciphers; None: nginx's default
    http2: bool = True
    dh_1024: bool = False  # ssl_dhparam with a 1024-bit group
    verify_client: bool = False  # ssl_verify_client on
    gnutls_priority: str | None = None
    docroot: bool = False

    @property
    def has_leaf(self) -> bool:
        return self.kind in ("nginx", "relay_nginx", "gnutls", "http_peer")

    @property
    def nginx_tls(self) -> bool:
        return self.kind in ("nginx", "relay_nginx")

    @property
    def relayed(self) -> bool:
        return self.kind in ("relay_nginx", "gnutls")

    @property
    def assigned(self) -> bool:
        return self.kind != "blackhole"


@dataclasses.dataclass(frozen=True)
class Site:
    name: str
    leaf: LeafProfile = LeafProfile()
    upstream: Upstream = Upstream()
    # What the lab expects tlsgated to do with it; documentation for readers
    # (the tests assert it explicitly).
    expectation: str = "inspect"
    case: str | None = None  # battery case id ("2", "9a", ...), None: core lab
    error_class: str | None = None  # expected class of the tls event, if any
    optional: bool = False  # brought up only by the tests that name it

    @property
    def slug(self) -> str:
        """File-name-safe form of the name (logs, certificates)."""
        return self.name.replace(".", "_").replace("*", "star")

    @property
    def san(self) -> tuple[str, ...]:
        names = self.leaf.dns_names if self.leaf.dns_names is not None else (self.name,)
        return names + tuple(f"n{i}.{self.name}" for i in range(self.leaf.extra_sans))


def _b(case, name, expectation, error_class=None, leaf=LeafProfile(), upstream=Upstream()):
    return Site(f"{name}", leaf, upstream, expectation, case, error_class)


_BLOCK = "block"
_PASS = "inspect"
_RSA = LeafProfile(key="rsa2048")
_TLS12 = "TLSv1.2"

CORE_SITES: tuple[Site, ...] = (
    Site("good.lab.test", expectation="inspect"),
    Site("bypass.lab.test", expectation="bypass by SNI rule"),
    Site("blocked.lab.test", expectation="block by SNI rule"),
    Site("expired.lab.test", LeafProfile(not_before_days=-90, not_after_days=-1),
         expectation="block: upstream certificate expired"),
    # Kernel-side tests (test_kernel_bypass, test_sockmap): one address serving
    # a bypassed and an inspected name; a bypassed site for bulk transfers.
    Site("mixed.lab.test", LeafProfile(dns_names=("mixed.lab.test", "mixed-bypass.lab.test")),
         expectation="mixed-bypass.lab.test bypassed (then by the kernel), mixed.lab.test "
                     "inspected"),
    Site("splice.lab.test", expectation="bypass: relayed by the kernel (sockmap)"),
)

BATTERY_SITES: tuple[Site, ...] = (
    # --- 1-17 upstream certificate validation
    _b("1", "c01-valid.lab.test", _PASS),
    _b("2", "c02-expired.lab.test", _BLOCK, "expired",
       LeafProfile(not_before_days=-90, not_after_days=-1)),
    _b("3", "c03-not-yet-valid.lab.test", _BLOCK, "not_yet_valid",
       LeafProfile(not_before_days=1, not_after_days=90)),
    _b("4", "c04-mismatch.lab.test", _BLOCK, "hostname_mismatch",
       LeafProfile(dns_names=("other.lab.test",))),
    _b("5", "c05-self-signed.lab.test", _BLOCK, "self_signed", LeafProfile(issuer="self")),
    _b("6a", "c06-unknown-root.lab.test", _BLOCK, "untrusted_root", LeafProfile(issuer="other")),
    _b("6b", "c06-unknown-root-sent.lab.test", _BLOCK, "untrusted_root",
       LeafProfile(issuer="other", chain="with_root")),
    _b("7", "c07-bad-signature.lab.test", _BLOCK, "invalid_signature",
       LeafProfile(corrupt_signature=True)),
    _b("8", "c08-non-ca-issuer.lab.test", _BLOCK, "not_a_ca", LeafProfile(issuer="non_ca")),
    _b("9a", "c09-eku-client.lab.test", _BLOCK, "bad_usage",
       LeafProfile(ext_key_usage="clientAuth")),
    _b("9b", "c09-ku-certsign.lab.test", _BLOCK, "bad_usage",
       LeafProfile(key_usage="critical,keyCertSign")),
    _b("10a", "c10-md5-leaf.lab.test", _BLOCK, "weak_signature",
       LeafProfile(issuer="rsa_intermediate", digest="md5")),
    _b("10b", "c10-sha1-leaf.lab.test", _BLOCK, "weak_signature", LeafProfile(digest="sha1")),
    _b("10c", "c10-md5-intermediate.lab.test", _BLOCK, "weak_signature",
       LeafProfile(issuer="md5_intermediate")),
    _b("10d", "c10-sha1-intermediate.lab.test", _BLOCK, "weak_signature",
       LeafProfile(issuer="sha1_intermediate")),
    # RSA-512 cannot sign TLS 1.3's RSA-PSS-SHA256: TLS 1.2 only, so the
    # certificate is what fails, not the signature algorithm negotiation.
    _b("11a", "c11-rsa512.lab.test", _BLOCK, "weak_key", LeafProfile(key="rsa512"),
       Upstream(protocols=_TLS12)),
    _b("11b", "c11-rsa1024.lab.test", _BLOCK, "weak_key", LeafProfile(key="rsa1024")),
    _b("11c", "c11-rsa1024-intermediate.lab.test", _BLOCK, "weak_key",
       LeafProfile(issuer="rsa1024_intermediate")),
    _b("12a", "c12-crl-revoked.lab.test", _BLOCK, "revoked",
       LeafProfile(crl_dp="lab", revoked=True)),
    _b("12b", "c12-ocsp-revoked.lab.test", _BLOCK, "revoked",
       LeafProfile(revoked=True, staple="revoked")),
    _b("12c", "c12-crl-unreachable.lab.test", "soft_fail: inspect; hard_fail: block", None,
       LeafProfile(crl_dp="refused")),
    _b("12d", "c12-crl-good.lab.test", _PASS, None, LeafProfile(crl_dp="lab")),
    _b("12e", "c12-ocsp-good.lab.test", _PASS, None, LeafProfile(staple="good")),
    _b("12f", "c12-must-staple.lab.test", _BLOCK, "revocation_unknown",
       LeafProfile(must_staple=True)),
    _b("12g", "c12-must-staple-good.lab.test", _PASS, None,
       LeafProfile(must_staple=True, staple="good")),
    _b("12", "crl.lab.test", "the lab CRL over HTTP (CRL distribution point)",
       upstream=Upstream(kind="crl")),
    _b("13", "c13-cn-only.lab.test", _BLOCK, "hostname_mismatch", LeafProfile(dns_names=())),
    _b("14a", "a.c14-wildcard.lab.test", _BLOCK, "hostname_mismatch",
       LeafProfile(dns_names=("*.lab.test",))),
    _b("14b", "c14-tld.test", _BLOCK, "hostname_mismatch", LeafProfile(dns_names=("*.test",))),
    _b("14c", "f14-partial.lab.test", _BLOCK, "hostname_mismatch",
       LeafProfile(dns_names=("f*.lab.test",))),
    _b("14d", "c14-wildcard-ok.lab.test", _PASS, None, LeafProfile(dns_names=("*.lab.test",))),
    _b("15", "c15-leaf-only.lab.test", _BLOCK, "incomplete_chain",
       LeafProfile(chain="leaf_only")),
    _b("16", "c16-reversed-chain.lab.test", _PASS, None, LeafProfile(chain="reversed_extra")),
    _b("17a", "c17-1000-sans.lab.test", _PASS, None, LeafProfile(extra_sans=999)),
    # Over OpenSSL's 100 KiB certificate-list limit: a protocol error.
    _b("17b", "c17-10000-sans.lab.test", _BLOCK, "bad_protocol", LeafProfile(extra_sans=9999)),
    # --- 18-19 forged certificate
    _b("18", "c18-forged-fields.lab.test", _PASS, None,
       LeafProfile(dns_names=("c18-forged-fields.lab.test", "c18-alt.lab.test"),
                   not_after_days=800, key="rsa2048")),
    _b("19", "c19-allow-ca-leaf.lab.test", "allow (rule): inspect, tls event action allow",
       "self_signed",
       LeafProfile(issuer="self", basic_constraints="critical,CA:TRUE",
                   key_usage="critical,digitalSignature,keyCertSign,cRLSign",
                   policies="2.23.140.1.2.1,1.3.6.1.4.1.55555.1",
                   dns_names=("c19-allow-ca-leaf.lab.test", "c19-other.lab.test"))),
    # --- 20-23 upstream protocol
    _b("20", "c20-client-hello.lab.test", _PASS, upstream=Upstream(kind="relay_nginx")),
    _b("21a", "c21-tls10.lab.test", _BLOCK, "bad_protocol",
       upstream=Upstream(protocols="TLSv1", ciphers="DEFAULT:@SECLEVEL=0")),
    _b("21b", "c21-tls11.lab.test", _BLOCK, "bad_protocol",
       upstream=Upstream(protocols="TLSv1.1", ciphers="DEFAULT:@SECLEVEL=0")),
    # Debian's OpenSSL is built without RC4 and 3DES suites: GnuTLS serves those.
    _b("22a", "c22-rc4.lab.test", _BLOCK, "bad_protocol", _RSA,
       Upstream(kind="gnutls", gnutls_priority="NONE:+VERS-TLS1.2:+VERS-TLS1.0:+ARCFOUR-128:"
                "+RSA:+ECDHE-RSA:+SHA1:+MD5:+COMP-NULL:+SIGN-ALL:+GROUP-ALL:+CTYPE-X509")),
    _b("22b", "c22-3des.lab.test", _BLOCK, "bad_protocol", _RSA,
       Upstream(kind="gnutls", gnutls_priority="NONE:+VERS-TLS1.2:+VERS-TLS1.0:+3DES-CBC:"
                "+RSA:+ECDHE-RSA:+SHA1:+COMP-NULL:+SIGN-ALL:+GROUP-ALL:+CTYPE-X509")),
    _b("22c", "c22-null.lab.test", _BLOCK, "bad_protocol", _RSA,
       Upstream(protocols=_TLS12, ciphers="NULL-SHA256:NULL-SHA:@SECLEVEL=0")),
    _b("22d", "c22-static-rsa-cbc.lab.test", _BLOCK, "bad_protocol", _RSA,
       Upstream(protocols=_TLS12, ciphers="AES128-SHA:AES256-SHA256:@SECLEVEL=0")),
    _b("23", "c23-dhe-1024.lab.test", _BLOCK, "bad_protocol", _RSA,
       Upstream(protocols=_TLS12, ciphers="DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
                dh_1024=True)),
    # --- 24-25 client-facing TLS
    _b("24", "c24-listener.lab.test", _PASS),
    _b("25a", "c25-h2.lab.test", _PASS),
    _b("25b", "c25-http11.lab.test", _PASS, upstream=Upstream(http2=False)),
    # --- 26-30 pages
    _b("26", "c26-hostile.lab.test", _BLOCK, "self_signed",
       LeafProfile(issuer="self",
                   organization='<script>alert("tg26")</script> & <b>"tg26"</b>')),
    _b("27a", "c27-prompt.lab.test", "prompt ([upstream] expired = prompt)", "expired",
       LeafProfile(not_before_days=-90, not_after_days=-1)),
    _b("27b", "c27-prompt-other.lab.test", "prompt ([upstream] expired = prompt)", "expired",
       LeafProfile(not_before_days=-90, not_after_days=-1)),
    _b("28", "c28-prompt-quiet.lab.test", "prompt ([upstream] expired = prompt)", "expired",
       LeafProfile(not_before_days=-90, not_after_days=-1)),
    _b("29", "c29-framing.lab.test", _BLOCK, "self_signed", LeafProfile(issuer="self")),
    _b("30", "c30-client-cert.lab.test", "block: upstream requires a client certificate",
       upstream=Upstream(verify_client=True)),
    _b("policy-ca", "p-untrusted-ca.lab.test", "untrusted_ca (rule)", "self_signed",
       LeafProfile(issuer="self")),
    _b("policy-allow", "p-allow.lab.test", "allow (rule, inline table)", "hostname_mismatch",
       LeafProfile(dns_names=("other.lab.test",))),
    _b("policy-block", "p-block.lab.test", "block (rule, inline table default)",
       "hostname_mismatch", LeafProfile(dns_names=("other.lab.test",))),
    # --- 34-38 SNI, destination, robustness
    _b("34a", "c34-no-sni.lab.test", "no SNI: validated against the address: block",
       "hostname_mismatch"),
    _b("34b", "c34-ip-san.lab.test", "no SNI: inspect (IP SAN)", None,
       LeafProfile(dns_names=(), ip_san=True)),
    _b("34c", "c34-dst-rule.lab.test", "no SNI: block by dst rule"),
    _b("35", "c35-malformed.lab.test", "malformed ClientHello: alert, no upstream connection",
       upstream=Upstream(kind="stall")),
    _b("35n", "c35-normalized.lab.test", _PASS),
    _b("35b", "c35-blocked.lab.test", "block by SNI rule (normalized name)"),
    _b("36a", "c36-stall.lab.test", "handshake timeout: block", upstream=Upstream(kind="stall")),
    _b("36b", "c36-refused.lab.test", "connection refused: block",
       upstream=Upstream(kind="refused")),
    _b("36c", "c36-blackhole.lab.test", "connect timeout: block",
       upstream=Upstream(kind="blackhole")),
    _b("38", "c38-restart.lab.test", _BLOCK, "expired",
       LeafProfile(not_before_days=-90, not_after_days=-1)),
    _b("non_tls", "cx-non-tls.lab.test", "plain HTTP on 443: closed"),
    # --- the gateway's own CA upstream (test_battery_own_ca.py installs
    # gateway_root as the gateway's CA and in its trust store)
    _b("own-ca", "c39-own-ca.lab.test", _BLOCK, "untrusted_root",
       LeafProfile(issuer="gateway_ca")),
    _b("own-ca-cross", "c39-own-ca-cross.lab.test", _BLOCK, "untrusted_root",
       LeafProfile(issuer="gateway_root", chain="cross_to_lab_root")),
)

# The HTTP layer's tests (test_http_layer.py) add these to the core lab.
HTTP_LAYER_SITES: tuple[Site, ...] = (
    Site("peer.lab.test", upstream=Upstream(kind="http_peer", http2=False),
         expectation="inspect: a scripted HTTP/1.1, WebSocket and echo server", optional=True),
)

# The antivirus tests (test_icap_av.py) add these: files served by nginx.
AV_SITES: tuple[Site, ...] = (
    Site("files.lab.test", upstream=Upstream(docroot=True),
         expectation="inspect: nginx serving test files (EICAR, archives, large objects)",
         optional=True),
)

SITES: tuple[Site, ...] = CORE_SITES + BATTERY_SITES + HTTP_LAYER_SITES + AV_SITES


def site(name: str) -> Site:
    for s in SITES:
        if s.name == name:
            return s
    raise KeyError(f"no lab site named {name!r}")


def core_sites() -> tuple[Site, ...]:
    """The rows a Lab brings up by default: every row that is not a battery
    case nor optional."""
    return tuple(s for s in SITES if s.case is None and not s.optional)


def with_dependencies(sites) -> tuple[Site, ...]:
    """`sites` plus the rows they need (the CRL server for CRL distribution points)."""
    chosen = list(dict.fromkeys(sites))
    if any(s.leaf.crl_dp == "lab" for s in chosen) and site("crl.lab.test") not in chosen:
        chosen.append(site("crl.lab.test"))
    return tuple(chosen)


def case_number(s: Site) -> int:
    """The number of a row's battery case ("9a" -> 9); 0 for others."""
    digits = ""
    for ch in s.case or "":
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else 0


def index(name: str) -> int:
    return SITES.index(site(name))


def _host(network, number: int):
    if number >= network.num_addresses - 1:
        raise ValueError(f"host {number} does not fit in {network}")
    return network.network_address + number


def site_v4(name: str) -> str:
    return str(_host(SITES_V4, FIRST_SITE_HOST + index(name)))


def site_v6(name: str) -> str:
    return str(_host(SITES_V6, FIRST_SITE_HOST + index(name)))


def site_address(name: str, family: int) -> str:
    return site_v4(name) if family == 4 else site_v6(name)


def router_lan(family: int) -> str:
    return str(_host(LAN_V4 if family == 4 else LAN_V6, ROUTER_HOST))


def router_wan(family: int) -> str:
    return str(_host(WAN_V4 if family == 4 else WAN_V6, ROUTER_HOST))


def client_address(family: int, host: int = CLIENT_HOST) -> str:
    return str(_host(LAN_V4 if family == 4 else LAN_V6, host))


def server_address(family: int) -> str:
    return str(_host(WAN_V4 if family == 4 else WAN_V6, SERVER_HOST))


def local_port(name: str) -> int:
    """Loopback port of a relayed server (relay_nginx, gnutls) in the server namespace."""
    s = site(name)
    base = RELAYED_NGINX_PORT_BASE if s.upstream.kind == "relay_nginx" else GNUTLS_PORT_BASE
    return base + index(name)
