#!/usr/bin/python3
"""The lab's steps on real machines (the Vagrant VMs), reusing the lab's own
modules: the address plan and sites (lab_sites), the PKI (lab_pki), the
nginx configuration (lab_nginx), the gateway's rules (lab_gateway) and the
client's probes (lab_probe). Where the lab runs a command in a namespace,
here it runs on the machine itself.

    lab_vm.py network <client|router|server>
    lab_vm.py server <dir>              PKI, nginx, the roots published on :8081
    lab_vm.py router-config <roots>     the gateway's tlsgate.toml on stdout
    lab_vm.py check                     the end-to-end checks, from the client
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys
import time
import urllib.request

LAB = pathlib.Path(__file__).resolve().parents[2] / "tests" / "lab"
sys.path.insert(0, str(LAB))

import lab_sites as plan  # noqa: E402
from lab_gateway import LAB_RULES, toml_value  # noqa: E402
from lab_netns import run  # noqa: E402
from lab_nginx import Nginx  # noqa: E402
from lab_pki import LabPki  # noqa: E402
from lab_probe import curl, s_client, verify_chain  # noqa: E402

LAB_ID = "vm"
SERVER_PUBLIC_PORT = 8081  # the lab roots (certificates only)
ROUTER_EXPORT_PORT = 8080  # the gateway root


class HostTopology:
    """What the lab modules ask of a Topology, for one machine per role."""

    lab_id = LAB_ID

    def ns_argv(self, _role: str, argv) -> list[str]:
        return list(argv)

    def run_in(self, _role: str, argv, **kwargs) -> subprocess.CompletedProcess:
        return run(list(argv), **kwargs)


def interface_with(address: str) -> str:
    for entry in json.loads(run(["ip", "-j", "addr", "show"]).stdout):
        if any(a.get("local") == address for a in entry.get("addr_info", [])):
            return entry["ifname"]
    raise SystemExit(f"no interface has {address}: is the Vagrant network up?")


def add_address(ifname: str, cidr: str) -> None:
    extra = ["nodad"] if ":" in cidr else []
    proc = run(["ip", "addr", "replace", cidr, "dev", ifname, *extra], check=False)
    if proc.returncode != 0:
        raise SystemExit(f"ip addr replace {cidr} dev {ifname}: {proc.stderr}")


def add_route(prefix, via: str) -> None:
    family = "-6" if ":" in via else "-4"
    run(["ip", family, "route", "replace", str(prefix), "via", via])


def network(role: str) -> None:
    """IPv6 addresses (Vagrant sets the IPv4 ones), routes and forwarding."""
    if role == "client":
        lan = interface_with(plan.client_address(4))
        add_address(lan, f"{plan.client_address(6)}/64")
        for family, sites, wan in ((4, plan.SITES_V4, plan.WAN_V4), (6, plan.SITES_V6,
                                                                      plan.WAN_V6)):
            add_route(sites, plan.router_lan(family))
            add_route(wan, plan.router_lan(family))
    elif role == "router":
        add_address(interface_with(plan.router_lan(4)), f"{plan.router_lan(6)}/64")
        add_address(interface_with(plan.router_wan(4)), f"{plan.router_wan(6)}/64")
        for family, sites in ((4, plan.SITES_V4), (6, plan.SITES_V6)):
            add_route(sites, plan.server_address(family))
        pathlib.Path("/etc/sysctl.d/60-tlsgate-lab.conf").write_text(
            "net.ipv4.ip_forward = 1\nnet.ipv6.conf.all.forwarding = 1\n")
        run(["sysctl", "-q", "--system"])
    elif role == "server":
        wan = interface_with(plan.server_address(4))
        add_address(wan, f"{plan.server_address(6)}/64")
        for s in plan.core_sites():
            add_address(wan, f"{plan.site_v4(s.name)}/32")
            add_address(wan, f"{plan.site_v6(s.name)}/128")
        for family, lan in ((4, plan.LAN_V4), (6, plan.LAN_V6)):
            add_route(lan, plan.router_wan(family))
    else:
        raise SystemExit(f"unknown role {role}")


def server(directory: pathlib.Path) -> None:
    """The lab PKI and nginx (as a transient systemd unit), then the roots."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = LabPki(directory / "pki", LAB_ID)
    if not pki.trust_bundle.exists():
        pki.generate(plan.core_sites())
    nginx = Nginx(HostTopology(), directory / "nginx", pki)
    nginx.sites = plan.core_sites()
    nginx.dir.mkdir(parents=True, exist_ok=True)
    nginx.write_config(nginx.sites)
    run(["systemctl", "stop", "tlsgate-lab-nginx.service"], check=False)
    run(["systemd-run", "--unit", "tlsgate-lab-nginx", f"--setenv=OPENSSL_CONF={nginx.openssl_conf}",
         "nginx", "-p", str(nginx.dir), "-e", str(nginx.dir / "error.log"), "-c", str(nginx.conf),
         "-g", "daemon off;"])
    want = nginx.listening_sockets()
    deadline = time.monotonic() + 30
    while not want <= {line.split()[3] for line in run(["ss", "-Hltn"]).stdout.splitlines()}:
        if time.monotonic() > deadline:
            raise SystemExit(f"nginx does not listen on {sorted(want)}: {nginx.startup_output()}")
        time.sleep(0.2)

    public = directory / "public"
    public.mkdir(exist_ok=True)
    for pem in (pki.root_cert, pki.trust_bundle):
        shutil.copy(pem, public / pem.name)
    run(["systemctl", "stop", "tlsgate-lab-roots.service"], check=False)
    run(["systemd-run", "--unit", "tlsgate-lab-roots", "python3", "-m", "http.server",
         str(SERVER_PUBLIC_PORT), "--bind", plan.server_address(4), "--directory", str(public)])
    print(f"lab server up: {len(plan.core_sites())} sites, roots on "
          f"http://{plan.server_address(4)}:{SERVER_PUBLIC_PORT}/")


def router_config(roots: str) -> None:
    sections = {
        "gateway": {"lan_interfaces": [interface_with(plan.router_lan(4))]},
        "upstream": {"trust_store": roots},
    }
    lines = ["# Written by vagrant/provision/lab_vm.py: the lab's gateway on a VM."]
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    for rule in LAB_RULES:
        lines.append("[[rule]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in rule.items()]
    print("\n".join(lines))


def fetch(url: str, path: pathlib.Path) -> pathlib.Path:
    for _ in range(30):
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                path.write_bytes(answer.read())
                return path
        except OSError:
            time.sleep(2)
    raise SystemExit(f"cannot fetch {url}")


def check() -> int:
    """The demo's four cases over IPv4 and IPv6; exit status 1 on any failure."""
    work = pathlib.Path("/var/lib/tlsgate-lab-client")
    work.mkdir(parents=True, exist_ok=True)
    lab_root = fetch(f"http://{plan.server_address(4)}:{SERVER_PUBLIC_PORT}/root.pem",
                     work / "lab-root.pem")
    gateway_root = fetch(f"http://{plan.router_lan(4)}:{ROUTER_EXPORT_PORT}/gateway-root.pem",
                         work / "gateway-root.pem")
    both = work / "both-roots.pem"
    both.write_text(lab_root.read_text() + gateway_root.read_text())
    topology = HostTopology()
    failures = []

    def expect(ok: bool, what: str, detail: str) -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            failures.append(f"{what}\n{detail}")

    for family in (4, 6):
        good = s_client(topology, "good.lab.test", family)
        ok, detail = verify_chain(good.chain, gateway_root, "good.lab.test") if good.completed \
            else (False, good.describe())
        expect(ok, f"good.lab.test (IPv{family}) is inspected: chain ends at the gateway root",
               detail)
        result = curl(topology, "good.lab.test", family, gateway_root)
        expect(result.exit_code == 0 and result.body == "site=good.lab.test\n",
               f"good.lab.test (IPv{family}) answers through the gateway", result.describe())

        # A forged chain would not verify with the lab's root.
        bypass = s_client(topology, "bypass.lab.test", family)
        ok, detail = verify_chain(bypass.chain, lab_root, "bypass.lab.test") if bypass.completed \
            else (False, bypass.describe())
        expect(ok, f"bypass.lab.test (IPv{family}) is bypassed: the server's own chain", detail)

        for site in ("blocked.lab.test", "expired.lab.test"):
            hs = s_client(topology, site, family)
            result = curl(topology, site, family, both)
            expect(not hs.completed and result.exit_code == 35,
                   f"{site} (IPv{family}) is refused with a TLS alert",
                   hs.describe() + "\n" + result.describe())
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"{'all checks passed' if not failures else f'{len(failures)} check(s) failed'}")
    return 1 if failures else 0


def main(argv) -> int:
    if len(argv) >= 2 and argv[0] == "network":
        network(argv[1])
    elif len(argv) == 2 and argv[0] == "server":
        server(pathlib.Path(argv[1]))
    elif len(argv) == 2 and argv[0] == "router-config":
        router_config(argv[1])
    elif argv == ["check"]:
        return check()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
