"""One measurement: bench_tls_load in the client namespace against a target,
with the CPU time the proxy under test spent meanwhile, and the memory
figure (RSS of a proxy holding idle inspected connections)."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import subprocess
import time

from bench_lab import Lab
from bench_peers import Proxy, cpu_seconds, rss_kib


def end_client(proc: subprocess.Popen) -> None:
    """Kills a load client still running (a measurement interrupted or failed)."""
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


@dataclasses.dataclass(frozen=True)
class LoadSpec:
    mode: str  # connect | bulk
    target: str  # IPv4 address, port 443
    tls: str  # "1.2" | "1.3"
    names_file: pathlib.Path | None = None
    sni: str | None = None
    names_once: bool = False
    concurrency: int = 32
    threads: int = 2
    path: str = "/"
    resume: bool = False  # the client offers each slot's last session
    nagle: bool = False  # no TCP_NODELAY on the client's sockets

    def describe(self) -> str:
        """The command line, for RESULTS.md (paths shortened)."""
        parts = [f"bench_tls_load {self.mode} --target {self.target}:443 --tls {self.tls}"]
        if self.sni:
            parts.append(f"--sni {self.sni}")
        if self.names_file:
            parts.append(f"--names-file {self.names_file.name}")
        if self.names_once:
            parts.append("--names-once")
        parts.append(f"-c {self.concurrency} -t {self.threads}")
        if self.path != "/":
            parts.append(f"--path {self.path}")
        if self.resume:
            parts.append("--resume")
        if self.nagle:
            parts.append("--nagle")
        return " ".join(parts)


@dataclasses.dataclass
class Sample:
    value: float  # connections/s or MB/s
    seconds: float
    failed: int
    errors: dict
    proxy_cpu_s: float  # CPU seconds the proxy used during the window
    units: float  # connections (connect) or MB (bulk) in the window
    resumed: int = 0  # connections of the window the server resumed
    first_byte_p50_ms: float | None = None  # request sent -> first response byte
    first_byte_p99_ms: float | None = None

    @property
    def proxy_cpu_per_unit(self) -> float | None:
        """µs per connection, or ms per MB... (see Scenario.cpu_unit)."""
        return self.proxy_cpu_s / self.units if self.units > 0 else None


class LoadRunner:
    def __init__(self, lab: Lab, loader: str, trust: pathlib.Path, warmup_s: float,
                 duration_s: float):
        self.lab = lab
        self.loader = loader
        self.trust = trust
        self.warmup_s = warmup_s
        self.duration_s = duration_s

    def argv(self, spec: LoadSpec) -> list[str]:
        argv = [self.loader, spec.mode, "--target", f"{spec.target}:443", "--tls", spec.tls,
                "--ca", str(self.trust), "-c", str(spec.concurrency), "-t", str(spec.threads),
                "--path", spec.path, "--warmup", str(self.warmup_s),
                "--duration", str(self.duration_s)]
        if spec.sni:
            argv += ["--sni", spec.sni]
        if spec.names_file:
            argv += ["--names-file", str(spec.names_file)]
        if spec.names_once:
            argv.append("--names-once")
        if spec.resume:
            argv.append("--resume")
        if spec.nagle:
            argv.append("--nagle")
        return self.lab.topology.ns_argv("client", argv)

    def run(self, spec: LoadSpec, proxy: Proxy | None) -> Sample:
        pids = proxy.pids() if proxy else []
        proc = subprocess.Popen(self.argv(spec), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            # The client's window starts after its warm-up (none with --names-once).
            time.sleep(0 if spec.names_once else self.warmup_s)
            cpu0, t0 = cpu_seconds(pids), time.monotonic()
            out, err = proc.communicate(timeout=self.warmup_s + self.duration_s + 60)
            cpu1, t1 = cpu_seconds(pids), time.monotonic()
        except BaseException:  # interrupted or stuck: the client must not outlive the lab
            end_client(proc)
            raise
        if proc.returncode != 0:
            raise RuntimeError(f"bench_tls_load exited {proc.returncode}: {err.strip()}")
        result = json.loads(out.strip().splitlines()[-1])
        # CPU over the client's window only: scale the sampled interval to it.
        window = result["seconds"]
        cpu = (cpu1 - cpu0) * min(1.0, window / max(t1 - t0, 1e-6))
        if spec.mode == "connect":
            value, units = result["per_second"], float(result["completed"])
        else:
            value, units = result["mbytes_per_second"], result["body_bytes"] / 1e6
        first_byte = result.get("first_byte_ms", {})
        has_first_byte = spec.mode == "connect" and first_byte.get("n", 0) > 0
        return Sample(value=value, seconds=window, failed=result["failed"],
                      errors=result["errors"], proxy_cpu_s=cpu, units=units,
                      resumed=result.get("resumed", 0),
                      first_byte_p50_ms=first_byte["p50"] if has_first_byte else None,
                      first_byte_p99_ms=first_byte["p99"] if has_first_byte else None)


@dataclasses.dataclass
class MemorySample:
    connections: int
    failed: int
    rss_before_kib: int
    rss_after_kib: int
    open_seconds: float
    errors: dict = dataclasses.field(default_factory=dict)  # what failed, by reason

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / max(self.connections, 1)


def hold_memory(lab: Lab, loader: str, trust: pathlib.Path, proxy: Proxy, target: str, sni: str,
                count: int, settle_s: float = 2.0, h2: bool = False) -> MemorySample:
    """RSS of `proxy` before and while `count` idle inspected connections
    (TLS 1.3, one GET each — over HTTP/2 with `h2` — then silent) are held open."""
    time.sleep(settle_s)
    before = rss_kib(proxy.pids())
    argv = lab.topology.ns_argv("client", [
        loader, "hold", "--target", f"{target}:443", "--sni", sni, "--tls", "1.3", "--ca",
        str(trust), "-c", str(count), "-t", "2", "--hold-parallel", "64", "--timeout", "30"]
        + (["--h2"] if h2 else []))
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        ready_line = proc.stdout.readline()
        if not ready_line:
            raise RuntimeError(f"bench_tls_load hold: {proc.stderr.read().strip()}")
        ready = json.loads(ready_line)
        time.sleep(settle_s)
        after = rss_kib(proxy.pids())
        proc.stdin.close()  # the client closes its connections and exits
        proc.wait(timeout=60)
    finally:
        end_client(proc)
    return MemorySample(connections=ready["ready"], failed=ready["failed"],
                        rss_before_kib=before, rss_after_kib=after,
                        open_seconds=ready["seconds"], errors=ready.get("errors", {}))
