"""Upstreams that are not nginx virtual hosts, in the server namespace.

relay_nginx / gnutls sites: lab_tcp_server.py relays <address>:443 to the
real server on a loopback port (nginx, or gnutls-serv, which cannot bind one
address and which serves the RC4 and 3DES suites Debian's OpenSSL lacks)
and records the bytes the gateway sent. stall sites: lab_tcp_server.py reads
and never answers. Every process is started by this module, recorded by pid
(Lab saves them in lab.json) and ended by pid.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time

import lab_sites as plan
from lab_netns import Topology, end_pids, pid_alive
from lab_pki import LabPki

TCP_SERVER = str(pathlib.Path(__file__).with_name("lab_tcp_server.py"))
HTTP_PEER = str(pathlib.Path(__file__).with_name("lab_http_peer.py"))


class SpecialUpstreams:
    def __init__(self, topology: Topology, directory: pathlib.Path, pki: LabPki):
        self.topology = topology
        self.dir = pathlib.Path(directory)
        self.pki = pki
        self.processes: dict[str, subprocess.Popen] = {}  # label -> process

    @property
    def pids(self) -> dict[str, int]:
        return {label: p.pid for label, p in self.processes.items()}

    def record_file(self, site_name: str) -> pathlib.Path:
        return self.dir / f"tcp-{plan.site(site_name).slug}.jsonl"

    def records(self, site_name: str) -> list[dict]:
        path = self.record_file(site_name)
        if not path.exists():
            return []
        found = []
        for line in path.read_text().splitlines():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                pass
        return found

    def gnutls_log(self, site_name: str) -> str:
        path = self.dir / f"gnutls-{plan.site(site_name).slug}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, sites) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        want = set()
        for s in sites:
            kind = s.upstream.kind
            if kind == "gnutls":
                self._gnutls(s)
                want.add(f"*:{plan.local_port(s.name)}")
            if kind in ("relay_nginx", "gnutls"):
                self._tcp_server(s, "relay", f"127.0.0.1:{plan.local_port(s.name)}")
            elif kind == "stall":
                self._tcp_server(s, "stall")
            elif kind == "http_peer":
                self._http_peer(s)
            if kind in ("relay_nginx", "gnutls", "stall", "http_peer"):
                want |= {f"{plan.site_v4(s.name)}:443", f"[{plan.site_v6(s.name)}]:443"}
        self._wait_listening(want)

    def _spawn(self, label: str, argv: list[str], log: pathlib.Path) -> None:
        with open(log, "ab") as out:
            self.processes[label] = subprocess.Popen(
                self.topology.ns_argv("server", argv), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)

    def _tcp_server(self, s: plan.Site, mode: str, to: str | None = None) -> None:
        argv = [sys.executable, TCP_SERVER, "--mode", mode, "--record",
                str(self.record_file(s.name)),
                "--listen", f"{plan.site_v4(s.name)}:443",
                "--listen", f"[{plan.site_v6(s.name)}]:443"]
        if to:
            argv += ["--to", to]
        self._spawn(f"{mode}-{s.name}", argv, self.dir / f"tcp-{s.slug}.out")

    def _http_peer(self, s: plan.Site) -> None:
        argv = [sys.executable, HTTP_PEER, "--cert", str(self.pki.served_chain(s)),
                "--key", str(self.pki.leaf_key(s)), "--record", str(self.record_file(s.name)),
                "--listen", f"{plan.site_v4(s.name)}:443",
                "--listen", f"[{plan.site_v6(s.name)}]:443"]
        self._spawn(f"http-peer-{s.name}", argv, self.dir / f"http-peer-{s.slug}.out")

    def _gnutls(self, s: plan.Site) -> None:
        argv = ["gnutls-serv", "--http", "--nodb", "--noticket", "--disable-client-cert",
                "-p", str(plan.local_port(s.name)),
                "--x509certfile", str(self.pki.served_chain(s)),
                "--x509keyfile", str(self.pki.leaf_key(s)),
                "--priority", s.upstream.gnutls_priority]
        self._spawn(f"gnutls-{s.name}", argv, self.dir / f"gnutls-{s.slug}.log")

    def _wait_listening(self, want: set[str], timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while want:
            for label, p in self.processes.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{label} exited with {p.returncode}: "
                                       f"{self.output_tail()}")
            out = self.topology.run_in("server", ["ss", "-Hltn"]).stdout
            listening = {line.split()[3] for line in out.splitlines() if line.strip()}
            # gnutls-serv binds the wildcard address: "*:port" or "0.0.0.0:port".
            listening |= {"*:" + a.rsplit(":", 1)[1] for a in listening}
            if want <= listening:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"not listening after {timeout_s}s: "
                                   f"{sorted(want - listening)}\n{self.output_tail()}")
            time.sleep(0.05)

    def output_tail(self) -> str:
        text = ""
        for path in sorted(self.dir.glob("*.out")) + sorted(self.dir.glob("gnutls-*.log")):
            text += f"--- {path.name}\n{path.read_text(errors='replace')[-600:]}\n"
        return text

    def stop(self) -> list[str]:
        problems = []
        for label, p in self.processes.items():
            problems += [f"{label} pid {pid} survived SIGKILL" for pid in end_pids([p.pid])]
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                problems.append(f"{label} pid {p.pid} not reaped")
        return problems

    def alive(self) -> dict[str, bool]:
        return {label: pid_alive(p.pid) for label, p in self.processes.items()}
