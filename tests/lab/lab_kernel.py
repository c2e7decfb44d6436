"""What the gateway's kernel side and terminator hold, read from outside: the
pinned BPF maps (bpftool), the daemon's counters (`tlsgatectl --json stats`)
and the terminator's sockets (ss in the router namespace). The evidence the
kernel-side lab tests use to show that a flow never reached userspace."""

from __future__ import annotations

import ipaddress
import json
import pathlib
import socket
import struct
import subprocess

from lab_netns import Topology, run

# bpf/tlsgate_abi.h
FLOW_STATES = {1: "steer", 2: "bypass", 3: "bypass_verify", 4: "fail_open", 5: "reset",
               6: "nfqueue"}
FLOW_REASONS = {0: "none", 1: "client_bypass", 2: "dst_bypass", 3: "learned_bypass",
                4: "steered", 5: "no_listener", 6: "assign_failed", 7: "sni_mismatch",
                8: "nfqueue"}
LEARNED = {1: "mixed", 2: "bypass_only"}


def _raw(values) -> bytes:
    return bytes(int(v, 16) for v in values)


def dump_pinned(pin: pathlib.Path) -> list[tuple[bytes, bytes]]:
    """(key, value) byte strings of every entry of the map pinned at `pin`."""
    out = json.loads(run(["bpftool", "-j", "map", "dump", "pinned", str(pin)]).stdout)
    return [(_raw(e["key"]), _raw(e["value"])) for e in out if "value" in e]


def _addr_bytes(address: str) -> bytes:
    ip = ipaddress.ip_address(address)
    return ip.packed.ljust(16, b"\0")


def _family(address: str) -> int:
    return socket.AF_INET if ipaddress.ip_address(address).version == 4 else socket.AF_INET6


def learned_verdict(pin_dir: pathlib.Path, server: str, port: int) -> str | None:
    """"bypass_only" / "mixed" for the server address:port, None when absent."""
    key = _addr_bytes(server) + struct.pack("!H", port) + bytes([_family(server), 0])
    for k, v in dump_pinned(pin_dir / "learned"):
        if k == key:
            return LEARNED.get(struct.unpack_from("=I", v, 8)[0], "?")
    return None


def flow_entry(pin_dir: pathlib.Path, client: str, client_port: int, server: str,
               port: int) -> dict | None:
    """The flow table's entry for client:client_port -> server:port."""
    key = (_addr_bytes(client) + _addr_bytes(server) + struct.pack("!HH", client_port, port)
           + bytes([_family(client), 0, 0, 0]))
    for k, v in dump_pinned(pin_dir / "flows"):
        if k == key:
            packets, nbytes = struct.unpack_from("=QQ", v, 16)
            return {"state": FLOW_STATES.get(v[32], "?"), "reason": FLOW_REASONS.get(v[33], "?"),
                    "packets": packets, "bytes": nbytes}
    return None


def stats(topology: Topology, tlsgatectl: str, config: pathlib.Path) -> dict:
    """The daemon's counters: {"terminator": {...}, "kernel": {...}, ...}."""
    proc = topology.run_in("router", [tlsgatectl, "--config", str(config), "--json", "stats"])
    return json.loads(proc.stdout)


def terminator_sockets(topology: Topology, peer: str, peer_port: int) -> list[str]:
    """TCP sockets in the router namespace whose peer is peer:peer_port."""
    out = topology.run_in("router", ["ss", "-Htna"]).stdout
    wanted = ipaddress.ip_address(peer)
    found = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        host, _, port = fields[4].rpartition(":")
        host = host.strip("[]")
        try:
            if ipaddress.ip_address(host) == wanted and int(port) == peer_port:
                found.append(line)
        except ValueError:
            continue
    return found


# --- the endpoints of lab_tls_peer.py -------------------------------------------------------

PEER = pathlib.Path(__file__).with_name("lab_tls_peer.py")
PYTHON = "/usr/bin/python3"


def bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def peer_client(topology: Topology, address: str, port: int, sni: str, ca: pathlib.Path,
                *extra: str, timeout: float = 60) -> dict:
    """One TLS client run in the client namespace; its JSON result."""
    argv = [PYTHON, str(PEER), "client", "--connect", f"{bracket(address)}:{port}", "--sni", sni,
            "--ca", str(ca), *extra]
    proc = topology.run_in("client", argv, check=False, timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    if not lines:
        return {"ok": False, "error": f"no output (exit {proc.returncode}): {proc.stderr[-500:]}"}
    return json.loads(lines[-1])


class HeldClient:
    """A TLS client that has done its request and holds the connection open
    until release()."""

    def __init__(self, topology: Topology, address: str, port: int, sni: str,
                 ca: pathlib.Path, local_port: int):
        argv = topology.ns_argv("client", [
            PYTHON, str(PEER), "client", "--connect", f"{bracket(address)}:{port}", "--sni",
            sni, "--ca", str(ca), "--local-port", str(local_port), "--hold"])
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        self.ready = json.loads(line) if line.strip() else {"ready": False}

    def release(self, timeout: float = 30) -> dict:
        out, _ = self.process.communicate("\n", timeout=timeout)
        lines = out.strip().splitlines()
        return json.loads(lines[-1]) if lines else {"ok": False}


def start_peer(topology: Topology, role: str, *args: str) -> subprocess.Popen:
    """A lab_tls_peer.py server role in the server namespace, once it listens.
    The lab's teardown ends it with the namespace's other processes."""
    argv = topology.ns_argv("server", [PYTHON, str(PEER), role, *args])
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "listening" not in line:
        process.kill()
        raise RuntimeError(f"lab_tls_peer.py {role}: {line!r} {process.stderr.read()[-500:]}")
    return process


def stop_peer(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# enum tg_counter, in order (bpf/tlsgate_abi.h)
COUNTERS = ("packets", "syn_seen", "steered_flows", "steered_packets", "bypass_client",
            "bypass_dst", "bypass_packets", "no_listener", "fail_closed_resets", "assign_errors",
            "fragments_dropped", "learned_flows", "sni_verified", "sni_resets", "nfqueue_flows",
            "nfqueue_packets", "reset_replies", "quic_refused",
            "decision_records_dropped")


def pinned_counters(pin_dir: pathlib.Path) -> dict[str, int]:
    """The kernel's counters summed over CPUs, from the pinned map (works
    while no daemon runs, e.g. after a crash)."""
    out = json.loads(run(["bpftool", "-j", "map", "dump", "pinned",
                          str(pin_dir / "counters")]).stdout)
    totals = {}
    for entry in out:
        index = struct.unpack("=I", _raw(entry["key"]))[0]
        if index < len(COUNTERS):
            totals[COUNTERS[index]] = sum(
                struct.unpack("=Q", _raw(v["value"]))[0] for v in entry["values"])
    return totals
