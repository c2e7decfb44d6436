"""The inspecting proxies under test, in the router namespace: tlsgated (as
tests/lab runs it), SSLsplit and mitmproxy (Debian packages) behind a
nftables redirect that the bench installs and removes.

Every proxy gets the same CA (the gateway's signing intermediate, so the
clients trust one root), the same upstream trust (the lab roots) and the same
clients. Differences the peers impose are stated in bench/README.md.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import time

from bench_lab import KERNEL_BYPASS_V4, SNI_BYPASS_NAME, SNI_BYPASS_V4, Lab, gateway_ca_files
from lab_netns import end_pids, pid_alive

REDIRECT_PORT = 8443

# tlsgated's policy in the bench: one bypass the kernel decides on the SYN
# (dst), one the terminator decides on the ClientHello (sni + dst: not
# compilable for the kernel, so every flow is steered and spliced by
# sockmap); everything else falls to the default action, inspect.
TLSGATE_RULES = (
    {"name": "bench-kernel-bypass", "action": "bypass", "dst": [f"{KERNEL_BYPASS_V4}/32"]},
    {"name": "bench-sni-bypass", "action": "bypass", "sni": [SNI_BYPASS_NAME],
     "dst": [f"{SNI_BYPASS_V4}/32"]},
)
# Events go to the event file and stdout (a file here); the journal copy is
# off: journald would run on the same two cores. The per-client connection
# limit is off: the memory figure holds 10k connections from one client
# address (the peers have no such limit).
TLSGATE_SETTINGS = {"paths": {"event_journal": False},
                    "gateway": {"max_connections_per_client": 0}}


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (SSLsplit and nginx fork)."""
    children: dict[int, list[int]] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def cpu_seconds(pids) -> float:
    """utime + stime of these processes (all their threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            fields = pathlib.Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def rss_kib(pids) -> int:
    total = 0
    for p in pids:
        try:
            for line in pathlib.Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class Redirect:
    """The LAN's TCP/443 redirected to a local port (router namespace only),
    in a nftables table of the bench's own: removing the table unhooks NAT,
    and with it connection tracking, so the blocks after a peer forward as
    the ones before it (an `iptables -t nat` rule would leave the nat table
    and conntrack hooked in the namespace for the rest of the run)."""

    TABLE = "tlsgate_bench_redirect"

    def __init__(self, lab: Lab, port: int = REDIRECT_PORT):
        self.lab = lab
        self.ruleset = (f"table ip {self.TABLE} {{\n"
                        "  chain prerouting {\n"
                        "    type nat hook prerouting priority dstnat; policy accept;\n"
                        f"    iifname \"{lab.topology.router_lan_if}\" tcp dport 443 "
                        f"redirect to :{port}\n"
                        "  }\n}\n")
        self.installed = False

    def install(self) -> None:
        self.installed = True  # before: a half-done install is removed too
        self.lab.topology.run_in("router", ["nft", "-f", "-"], input_text=self.ruleset)

    def remove(self) -> None:
        if self.installed:
            self.lab.topology.run_in("router", ["nft", "delete", "table", "ip", self.TABLE],
                                     check=False)
            self.installed = False


class Proxy:
    """Common life cycle: start, the pids to measure, stop."""

    name = "?"

    def pids(self) -> list[int]:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def restart(self) -> None:
        """A fresh process: an empty forged-certificate cache."""
        self.stop()
        self.start()

    def version(self) -> str:
        raise NotImplementedError


class Tlsgate(Proxy):
    name = "tlsgate"

    def __init__(self, lab: Lab, tlsgated: str):
        self.lab = lab
        self.tlsgated = tlsgated

    def start(self) -> None:
        self.lab.start_gateway(rules=TLSGATE_RULES, settings=TLSGATE_SETTINGS)

    def stop(self) -> None:
        if self.lab.gateway.process is None:
            return
        status = self.lab.gateway.terminate()
        if status != 0:
            raise RuntimeError(f"tlsgated stopped with {status}: {self.lab.gateway.log_tail()}")

    def pids(self) -> list[int]:
        return [self.lab.gateway.pid] if self.lab.gateway.running() else []

    def version(self) -> str:
        out = subprocess.run([self.tlsgated, "--version"], capture_output=True, text=True)
        return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) \
            else "tlsgated"


class _Daemon(Proxy):
    """A peer: one foreground process in the router namespace behind REDIRECT."""

    def __init__(self, lab: Lab, directory: pathlib.Path):
        self.lab = lab
        self.dir = directory
        self.redirect = Redirect(lab)
        self.process: subprocess.Popen | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def prepare(self) -> None:
        pass

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: "
                                   f"{self.log_tail()}")
            out = self.lab.topology.run_in("router", ["ss", "-Hltn"]).stdout
            if any(line.split()[3].endswith(f":{REDIRECT_PORT}") for line in out.splitlines()
                   if line.strip()):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not listening on {REDIRECT_PORT}: {self.log_tail()}")

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        with open(self.dir / "out.log", "ab") as out:
            self.process = subprocess.Popen(self.lab.topology.ns_argv("router", self.argv()),
                                            stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, env=self.env(),
                                            start_new_session=True)
        try:
            self.wait_ready()
            self.redirect.install()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.redirect.remove()
        if self.process is None:
            return
        pids = process_tree(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        left = end_pids([p for p in pids if pid_alive(p)], 10)
        self.process.wait(timeout=5)
        self.process = None
        if left:
            raise RuntimeError(f"{self.name}: pids {left} survived SIGKILL")

    def pids(self) -> list[int]:
        if self.process is None or self.process.poll() is not None:
            return []
        return process_tree(self.process.pid)

    def log_tail(self, chars: int = 2000) -> str:
        path = self.dir / "out.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


class SslSplit(_Daemon):
    """SSLsplit 0.5.5: `ssl` proxyspec with the netfilter NAT engine, the
    gateway's intermediate as CA, a P-256 leaf key like tlsgate's, upstream
    verification on against the lab roots (SSL_CERT_FILE: SSLsplit's
    VerifyPeer uses OpenSSL's default paths)."""

    name = "sslsplit"

    def __init__(self, lab: Lab, directory: pathlib.Path, trust_bundle: pathlib.Path):
        super().__init__(lab, directory)
        self.trust_bundle = trust_bundle

    def prepare(self) -> None:
        cert, key = gateway_ca_files(self.lab)
        self.ca_cert, self.ca_key = cert, key
        self.leaf_key = self.dir / "leaf.key"
        if not self.leaf_key.exists():
            subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-out", str(self.leaf_key)], check=True,
                           capture_output=True)

    def argv(self) -> list[str]:
        return ["sslsplit", "-u", "root", "-c", str(self.ca_cert), "-k", str(self.ca_key),
                "-K", str(self.leaf_key), "-o", "VerifyPeer=yes",
                "ssl", "0.0.0.0", str(REDIRECT_PORT)]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SSL_CERT_FILE"] = str(self.trust_bundle)
        return env

    def version(self) -> str:
        out = subprocess.run(["sslsplit", "-V"], capture_output=True, text=True)
        lines = (out.stdout + out.stderr).splitlines()
        return lines[0].strip() if lines else "sslsplit"


class Mitmproxy(_Daemon):
    """mitmproxy (mitmdump) in transparent mode: the gateway's intermediate
    as its CA (confdir/mitmproxy-ca.pem), upstream verification against the
    lab roots, no flow output."""

    name = "mitmproxy"

    def __init__(self, lab: Lab, directory: pathlib.Path, trust_bundle: pathlib.Path):
        super().__init__(lab, directory)
        self.trust_bundle = trust_bundle

    def prepare(self) -> None:
        cert, key = gateway_ca_files(self.lab)
        conf = self.dir / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "mitmproxy-ca.pem").write_text(key.read_text() + cert.read_text())

    def argv(self) -> list[str]:
        return ["mitmdump", "--mode", "transparent", "--listen-host", "0.0.0.0",
                "--listen-port", str(REDIRECT_PORT), "--set", f"confdir={self.dir / 'conf'}",
                "--set", f"ssl_verify_upstream_trusted_ca={self.trust_bundle}",
                "--set", "flow_detail=0", "--set", "stream_large_bodies=1m", "--quiet"]

    def version(self) -> str:
        out = subprocess.run(["mitmdump", "--version"], capture_output=True, text=True)
        lines = out.stdout.splitlines()
        return lines[0].strip() if lines else "mitmproxy"
