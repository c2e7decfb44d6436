"""tlsgated as a service, seen from the lab: tlsgatectl, the metrics endpoint,
systemd's notify socket (owned by the test), a TLS connection held open
through the gateway, and starting tlsgated with a wrapper (an unprivileged
user with the unit's capabilities) or extra environment.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import selectors
import socket
import struct
import subprocess
import time

import lab_sites as plan
from lab_gateway import READY_LINE, Gateway, ensure_bpffs, gateway_binaries
from lab_netns import run

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
UNIT_FILE = SOURCE_DIR / "systemd" / "tlsgate.service"


# --- tlsgatectl ---------------------------------------------------------------------


class Ctl:
    """tlsgatectl against the lab gateway's config (hence its control socket)."""

    def __init__(self, gateway: Gateway):
        self.gateway = gateway
        self.binary = gateway_binaries()[1]

    def run(self, *args, check: bool = True, timeout: int = 30) -> subprocess.CompletedProcess:
        argv = [self.binary, "--config", str(self.gateway.config), *args]
        proc = run(argv, check=False, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} -> exit {proc.returncode}\n"
                                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def json(self, *args):
        return json.loads(self.run("--json", *args).stdout)

    def popen(self, *args) -> subprocess.Popen:
        return subprocess.Popen([self.binary, "--config", str(self.gateway.config), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# --- metrics -------------------------------------------------------------------------


def scrape(gateway: Gateway, address: str = "127.0.0.1:9477") -> tuple[str, dict[str, float]]:
    """GET /metrics inside the router namespace: (headers, {sample: value})."""
    proc = gateway.topology.run_in(
        "router", ["curl", "-sS", "--max-time", "5", "-D", "-", f"http://{address}/metrics"],
        check=False)
    if proc.returncode != 0:
        raise AssertionError(f"metrics endpoint: curl exit {proc.returncode}: {proc.stderr}")
    headers, _, body = proc.stdout.partition("\n\n")  # text mode: \r\n is \n
    samples = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return headers, samples


# --- systemd's notify socket ---------------------------------------------------------


class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET. Like
    systemd it learns each sender's pid from the kernel (SO_PASSCRED): every
    message carries it as SENDER_PID, which tlsgated never sends."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(str(path))
        self.messages: list[dict[str, str]] = []

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)

    def wait_for(self, key: str, value: str | None = None, timeout_s: float = 10.0,
                 after: int = 0) -> int:
        """Index of the first message from `after` on carrying key(=value)."""
        deadline = time.monotonic() + timeout_s
        while True:
            for i in range(after, len(self.messages)):
                m = self.messages[i]
                if key in m and (value is None or m[key] == value):
                    return i
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {key}{'=' + value if value else ''} from tlsgated; "
                                     f"got {self.messages[after:]}")
            self.sock.settimeout(left)
            try:
                data, ancillary, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            fields = {}
            for line in data.decode(errors="replace").splitlines():
                k, _, v = line.partition("=")
                fields[k] = v
            for level, kind, cred in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    fields["SENDER_PID"] = str(struct.unpack("iII", cred[:12])[0])
            self.messages.append(fields)


class FakeJournal:
    """A datagram socket speaking journald's native protocol, at
    <dir>/socket, to be bind-mounted over /run/systemd/journal."""

    def __init__(self, directory: pathlib.Path):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.dir / "socket"))
        self.entries: list[dict[str, list[str]]] = []

    def close(self) -> None:
        self.sock.close()

    @staticmethod
    def parse(data: bytes) -> dict[str, list[str]]:
        """FIELD=value lines, or FIELD\n<le64 size><value>\n for binary-safe values."""
        fields: dict[str, list[str]] = {}
        pos = 0
        while pos < len(data):
            nl = data.index(b"\n", pos)
            line = data[pos:nl]
            if b"=" in line:
                key, _, value = line.partition(b"=")
                pos = nl + 1
            else:
                key = line
                size = int.from_bytes(data[nl + 1:nl + 9], "little")
                value = data[nl + 9:nl + 9 + size]
                pos = nl + 9 + size + 1
            fields.setdefault(key.decode(), []).append(value.decode(errors="replace"))
        return fields

    def wait_for(self, predicate, timeout_s: float = 10.0) -> dict[str, list[str]]:
        deadline = time.monotonic() + timeout_s
        while True:
            for entry in self.entries:
                if predicate(entry):
                    return entry
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no such journal entry; got {self.entries}")
            self.sock.settimeout(left)
            try:
                self.entries.append(self.parse(self.sock.recv(1 << 20)))
            except socket.timeout:
                continue


# --- a TLS connection held open through the gateway ------------------------------------


class HeldConnection:
    """`openssl s_client` in the client namespace, kept open: HTTP/1.1 requests
    are sent on the same TLS connection, one at a time."""

    def __init__(self, topology, site: str, family: int = 4):
        address = plan.site_address(site, family)
        host = f"[{address}]" if ":" in address else address
        self.site = site
        self.proc = subprocess.Popen(
            topology.ns_argv("client", ["openssl", "s_client", "-quiet", "-connect",
                                        f"{host}:443", "-servername", site]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def get(self, timeout_s: float = 10.0, path: str = "/") -> str:
        """One GET of `path`; returns the body ("" when the connection was closed)."""
        request = f"GET {path} HTTP/1.1\r\nHost: {self.site}\r\n\r\n".encode()
        try:
            self.proc.stdin.write(request)
            self.proc.stdin.flush()
        except BrokenPipeError:
            return ""
        deadline = time.monotonic() + timeout_s
        while True:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                length = int(m.group(1)) if m else 0
                if len(rest) >= length:
                    self.buffer = rest[length:]
                    return rest[:length].decode(errors="replace")
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                return ""
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return ""
            self.buffer += chunk

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.selector.close()


# --- starting tlsgated differently -----------------------------------------------------


def start_gateway_with(lab, argv_wrapper=None, env=None, timeout_s: float = 30.0) -> Gateway:
    """Lab.start_gateway, with the command line passed through `argv_wrapper`
    (argv -> argv) and extra environment. The pid recorded is tlsgated's own
    as long as every wrapper exec()s."""
    gw = lab.gateway
    tlsgated, tlsgatectl = gateway_binaries()
    gw.dir.mkdir(parents=True, exist_ok=True)
    ensure_bpffs()
    gw.write_config()
    argv = [tlsgated, "--config", str(gw.config)]
    argv = argv_wrapper(argv) if argv_wrapper else gw.topology.ns_argv("router", argv)
    start_offset = gw.stderr_path.stat().st_size if gw.stderr_path.exists() else 0
    with open(gw.stdout_path, "ab") as out, open(gw.stderr_path, "ab") as err:
        gw.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                      start_new_session=True, env={**os.environ, **(env or {})})
    gw.pid = gw.process.pid
    lab._save_state()
    deadline = time.monotonic() + timeout_s
    while READY_LINE not in gw.stderr_path.read_bytes()[start_offset:].decode(errors="replace"):
        if gw.process.poll() is not None:
            raise AssertionError(f"tlsgated exited with {gw.process.returncode} before "
                                 f"'{READY_LINE}':\n{gw.log_tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"tlsgated not ready after {timeout_s}s:\n{gw.log_tail()}")
        time.sleep(0.05)
    gw.export_root_ca(tlsgatectl)
    return gw


def unit_setting(name: str) -> list[str]:
    """The values of `name=` in systemd/tlsgate.service, words split."""
    values = []
    for line in UNIT_FILE.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == name:
            values += value.split()
    return values
