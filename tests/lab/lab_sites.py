"""The lab's upstream sites and its address plan.

Every site gets its own IPv4 and IPv6 address on the server namespace (some
proxies connect upstream without SNI, so shared addresses would give false
passes), its own nginx server block and access log, and a leaf certificate
described by a LeafProfile. New cases (the security battery) are new rows in
SITES; nothing else needs to change for a site that only differs in its leaf.
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
SERVER_HOST = 2  # on the WAN
FIRST_SITE_HOST = 10


@dataclasses.dataclass(frozen=True)
class LeafProfile:
    """How a site's leaf certificate is made (days are relative to now)."""

    not_before_days: int = -1
    not_after_days: int = 90
    # None: the site's own name. Battery cases set other names or none.
    dns_names: tuple[str, ...] | None = None

    @property
    def expired(self) -> bool:
        return self.not_after_days < 0


@dataclasses.dataclass(frozen=True)
class Site:
    name: str
    leaf: LeafProfile = LeafProfile()
    # What the lab expects tlsgated to do with it under the lab's gateway
    # config; documentation for readers, the tests assert it explicitly.
    expectation: str = "inspect"

    @property
    def slug(self) -> str:
        """File-name-safe form of the name (logs, certificates)."""
        return self.name.replace(".", "_")

    @property
    def san(self) -> tuple[str, ...]:
        return self.leaf.dns_names if self.leaf.dns_names is not None else (self.name,)


SITES: tuple[Site, ...] = (
    Site("good.lab.test", expectation="inspect"),
    Site("bypass.lab.test", expectation="bypass by SNI rule"),
    Site("blocked.lab.test", expectation="block by SNI rule"),
    Site("expired.lab.test", LeafProfile(not_before_days=-90, not_after_days=-1),
         expectation="block: upstream certificate expired"),
)


def site(name: str) -> Site:
    for s in SITES:
        if s.name == name:
            return s
    raise KeyError(f"no lab site named {name!r}")


def _host(network, number: int):
    if number >= network.num_addresses - 1:
        raise ValueError(f"host {number} does not fit in {network}")
    return network.network_address + number


def site_v4(name: str) -> str:
    return str(_host(SITES_V4, FIRST_SITE_HOST + SITES.index(site(name))))


def site_v6(name: str) -> str:
    return str(_host(SITES_V6, FIRST_SITE_HOST + SITES.index(site(name))))


def site_address(name: str, family: int) -> str:
    return site_v4(name) if family == 4 else site_v6(name)


def router_lan(family: int) -> str:
    return str(_host(LAN_V4 if family == 4 else LAN_V6, ROUTER_HOST))


def router_wan(family: int) -> str:
    return str(_host(WAN_V4 if family == 4 else WAN_V6, ROUTER_HOST))


def client_address(family: int) -> str:
    return str(_host(LAN_V4 if family == 4 else LAN_V6, CLIENT_HOST))


def server_address(family: int) -> str:
    return str(_host(WAN_V4 if family == 4 else WAN_V6, SERVER_HOST))
