"""The lab's three network namespaces: client <-> router <-> server.

client (<id>c0) ==veth== (<id>r0) router (<id>r1) ==veth== (<id>s0) server

The router forwards both families; client and server default-route through
it; the server holds one address per site. Nothing is connected to the
host's namespace: no veth end stays there, no bridge, no NAT.

Commands run in a namespace through `nsenter --net` only (not `ip netns
exec`): the latter also remounts /sys, which hides the host's bpffs at
/sys/fs/bpf, where the gateway pins its objects.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import lab_sites as plan

ROLES = ("client", "router", "server")
_ID_RE = re.compile(r"^[a-z][a-z0-9]{1,9}$")  # veth "<id>r1" must stay <= 15 chars


def check_lab_id(lab_id: str) -> str:
    if not _ID_RE.match(lab_id):
        raise ValueError(f"lab id {lab_id!r}: want 2-10 chars of [a-z0-9], starting with a letter")
    return lab_id


def run(argv, *, check=True, timeout=30, input_text=None) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, input=input_text, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} -> exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


class Topology:
    def __init__(self, lab_id: str):
        self.lab_id = check_lab_id(lab_id)
        self.ns = {role: f"{lab_id}-{role}" for role in ROLES}
        self.client_if = f"{lab_id}c0"
        self.router_lan_if = f"{lab_id}r0"
        self.router_wan_if = f"{lab_id}r1"
        self.server_if = f"{lab_id}s0"

    # --- running things inside ------------------------------------------------

    def ns_argv(self, role: str, argv) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{self.ns[role]}", "--", *argv]

    def run_in(self, role: str, argv, **kwargs) -> subprocess.CompletedProcess:
        return run(self.ns_argv(role, argv), **kwargs)

    def existing_namespaces(self) -> list[str]:
        out = run(["ip", "netns", "list"]).stdout
        names = {line.split()[0] for line in out.splitlines() if line.strip()}
        return sorted(n for n in self.ns.values() if n in names)

    def pids_inside(self) -> dict[str, list[int]]:
        found = {}
        for role, name in self.ns.items():
            if name in self.existing_namespaces():
                out = run(["ip", "netns", "pids", name], check=False).stdout
                pids = [int(p) for p in out.split() if p.isdigit()]
                if pids:
                    found[role] = pids
        return found

    # --- life cycle ------------------------------------------------------------

    def create(self, sites=None) -> None:
        """Builds the namespaces; the server holds the addresses of `sites`
        (default: every row of the site table), except blackholed ones."""
        sites = plan.SITES if sites is None else sites
        taken = self.existing_namespaces()
        if taken:
            raise RuntimeError(f"lab id {self.lab_id} in use: namespaces {taken} exist "
                               f"(tear down with: lab.py down {self.lab_id} <dir>)")
        for name in self.ns.values():
            run(["ip", "netns", "add", name])
        n = self.ns
        run(["ip", "link", "add", self.client_if, "netns", n["client"], "type", "veth",
             "peer", "name", self.router_lan_if, "netns", n["router"]])
        run(["ip", "link", "add", self.router_wan_if, "netns", n["router"], "type", "veth",
             "peer", "name", self.server_if, "netns", n["server"]])
        self._batch("client", self._client_commands())
        self._batch("router", self._router_commands())
        self._batch("server", self._server_commands(sites))
        self.run_in("router", ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
                               "net.ipv6.conf.all.forwarding=1"])
        for role in ("client", "server"):
            self.run_in(role, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0",
                               "net.ipv6.conf.all.forwarding=0"])

    def _batch(self, role: str, commands: list[str]) -> None:
        run(["ip", "-n", self.ns[role], "-batch", "-"], input_text="\n".join(commands) + "\n")

    def _client_commands(self) -> list[str]:
        i = self.client_if
        return [
            "link set lo up", f"link set {i} up",
            f"addr add {plan.client_address(4)}/{plan.LAN_V4.prefixlen} dev {i}",
            f"addr add {plan.client_address(6)}/{plan.LAN_V6.prefixlen} dev {i} nodad",
            # A second LAN client on the same interface (bound by address).
            f"addr add {plan.client_address(4, plan.SECOND_CLIENT_HOST)}/32 dev {i}",
            # Deprecated (preferred_lft 0): never chosen as a source unless bound.
            f"addr add {plan.client_address(6, plan.SECOND_CLIENT_HOST)}/128 dev {i} nodad "
            "preferred_lft 0",
            f"route add default via {plan.router_lan(4)}",
            f"route add default via {plan.router_lan(6)}",
        ]

    def _router_commands(self) -> list[str]:
        lan, wan = self.router_lan_if, self.router_wan_if
        return [
            "link set lo up", f"link set {lan} up", f"link set {wan} up",
            f"addr add {plan.router_lan(4)}/{plan.LAN_V4.prefixlen} dev {lan}",
            f"addr add {plan.router_lan(6)}/{plan.LAN_V6.prefixlen} dev {lan} nodad",
            f"addr add {plan.router_wan(4)}/{plan.WAN_V4.prefixlen} dev {wan}",
            f"addr add {plan.router_wan(6)}/{plan.WAN_V6.prefixlen} dev {wan} nodad",
            f"route add {plan.SITES_V4} via {plan.server_address(4)}",
            f"route add {plan.SITES_V6} via {plan.server_address(6)}",
        ]

    def _server_commands(self, sites) -> list[str]:
        i = self.server_if
        commands = [
            "link set lo up", f"link set {i} up",
            f"addr add {plan.server_address(4)}/{plan.WAN_V4.prefixlen} dev {i}",
            f"addr add {plan.server_address(6)}/{plan.WAN_V6.prefixlen} dev {i} nodad",
            f"route add default via {plan.router_wan(4)}",
            f"route add default via {plan.router_wan(6)}",
        ]
        for s in sites:
            if not s.upstream.assigned:
                continue
            commands.append(f"addr add {plan.site_v4(s.name)}/32 dev {i}")
            commands.append(f"addr add {plan.site_v6(s.name)}/128 dev {i} nodad")
        return commands

    def destroy(self) -> list[str]:
        """Ends every process left inside the namespaces, deletes them.

        Returns the problems met (empty when clean); never raises, so the
        rest of a teardown still runs.
        """
        problems = []
        for role, pids in self.pids_inside().items():
            problems += [f"pid {p} still in {self.ns[role]}" for p in end_pids(pids)]
        for name in self.existing_namespaces():
            proc = run(["ip", "netns", "del", name], check=False)
            if proc.returncode != 0:
                problems.append(f"ip netns del {name}: {proc.stderr.strip()}")
        return problems


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def end_pids(pids, grace_s: float = 5.0) -> list[int]:
    """SIGTERM, then SIGKILL after `grace_s`; returns the pids still alive."""
    pids = [p for p in pids if pid_alive(p)]
    for p in pids:
        _signal(p, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for p in pids:
        if pid_alive(p):
            _signal(p, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if pid_alive(p)]


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (field 22 of /proc/pid/stat): with the
    pid it identifies one process, so a recycled pid is never signalled."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (FileNotFoundError, IndexError):
        return None
