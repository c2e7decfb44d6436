#!/usr/bin/env python3
"""Antivirus over ICAP, tlsgate against Squid 5 ssl-bump (issue 13 item 6):
both gateways inspect the same HTTPS site and send every response through
the same c-icap `virus_scan` service over clamd (RESPMOD), in one run on one
bench lab. The gateways alternate, in opposite order every other repetition;
each ratio is the median of the per-repetition ratios. Figures:

  requests/s    h2load --h1, 50 keep-alive connections, GETs of a 10 KiB object
  1 flow        curl, one keep-alive connection, GETs of a clean 100 MiB object
                (scanned whole: tlsgate's max_scan_size is raised above it)
  1 MiB latency curl, one keep-alive connection, GETs of a 1 MiB object with
                scanning and with the gateway restarted without ICAP; the
                difference is the added latency, set against the service's
                own time for the same object (a RESPMOD straight to c-icap
                from the router namespace) and tlsgate's `icap` event ms

Writes (or replaces) its section of bench/RESULTS.md.

    sudo python3 bench/icap_vs_squid.py --build build-bench

The build as bench/run.sh makes it (Release, no sanitizers); needs
scripts/install-deps.sh and bench/install-deps.sh (squid-openssl, h2load).
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import re
import statistics
import subprocess
import sys

from bench_lab import (INSPECT_NAME, INSPECT_V4, BenchUpstream, Lab, bench_lab_id,
                       client_bundle, descriptor_limit, set_sysctls)
import lab_sites as plan
from lab_av import PORT as ICAP_PORT, AvService
from results_section import build_binaries, write_section
from bench_peers import Tlsgate, cpu_seconds, process_tree
from bench_squid import Squid
from lab import teardown_on_signals

HERE = pathlib.Path(__file__).resolve().parent
SECTION = "## Antivirus over ICAP: tlsgate against Squid ssl-bump"
REQS_RE = re.compile(r"finished in [\d.]+\w+, ([\d.]+) req/s")
DONE_RE = re.compile(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded")
OBJECTS = {"/obj10k": 10 << 10, "/obj1m": 1 << 20, "/obj100m": 100 << 20}
MAX_SCAN = 128 << 20  # tlsgate: above the 100 MiB object (default 32 MiB: oversize, passed)
# clamd scans the whole 100 MiB object (its defaults stop at 100 MB per file).
CLAMD_LIMITS = "MaxFileSize 200M\nMaxScanSize 400M\nStreamMaxLength 200M\n"
# The same virus_scan, streaming the body back while it scans: Squid's
# service for bodies over 64 KiB (bench_squid.py says why).
STREAMED = "ServiceAlias avstream virus_scan?allow204=on&sizelimit=off&mode=streamed\n"


def write_objects(directory: pathlib.Path) -> dict[str, pathlib.Path]:
    """Random (incompressible, clean) bodies, written once per run."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for where, size in OBJECTS.items():
        path = directory / where.strip("/")
        with open(path, "wb") as f:
            left = size
            while left:
                piece = os.urandom(min(left, 1 << 20))
                f.write(piece)
                left -= len(piece)
        paths[where] = path
    return paths


class Gateway:
    """One of the two gateways, startable with or without the ICAP service."""

    def __init__(self, name: str, lab: Lab, av: AvService, trust: pathlib.Path,
                 squid_workers: int):
        self.name, self.lab, self.av, self.trust = name, lab, av, trust
        self.squid_workers = squid_workers
        self.proxy = None
        self.failures: list[str] = []  # Squid's access-log lines of 5xx answers

    def start(self, scan: bool) -> None:
        if self.name == "tlsgate":
            self.lab.gateway.icap = [{"name": "av", "url": self.av.url, "method": "respmod",
                                      "timeout": "60s", "max_scan_size": MAX_SCAN}] if scan else []
            self.proxy = Tlsgate(self.lab, os.environ["TLSGATED"])
        else:
            self.proxy = Squid(self.lab, self.lab.pki.trust_bundle,
                               self.av.url if scan else None,
                               self.av.url.replace("/avscan", "/avstream"),
                               workers=self.squid_workers)
        self.proxy.start()

    def stop(self) -> None:
        if self.proxy is None:
            return
        try:
            self.proxy.stop()
        finally:
            if isinstance(self.proxy, Squid):
                log = self.proxy.dir / "access.log"
                if log.exists():  # failed requests, for the run's output
                    self.failures += [line for line in log.read_text().splitlines()
                                      if "/5" in (line.split()[3:4] or [""])[0]]
                self.proxy.remove()
            self.proxy = None


def h1_requests(lab: Lab, requests: int, connections: int) -> tuple[float, int]:
    """Requests/s and how many requests failed (not 2xx)."""
    argv = ["h2load", "--h1", "-n", str(requests), "-c", str(connections),
            f"--connect-to={INSPECT_V4}:443", f"https://{INSPECT_NAME}/obj10k"]
    proc = lab.topology.run_in("client", argv, check=False, timeout=600)
    rate, done = REQS_RE.search(proc.stdout), DONE_RE.search(proc.stdout)
    if proc.returncode != 0 or rate is None or done is None or int(done.group(1)) != requests:
        raise RuntimeError(f"h2load failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return float(rate.group(1)), requests - int(done.group(2))


BAD_GETS: list[str] = []  # the curl GETs that did not get the whole object


def curl_times(lab: Lab, trust: pathlib.Path, path: str, count: int,
               max_time: float = 300) -> list[float] | None:
    """Seconds per GET of `path`, `count` GETs on one keep-alive connection
    (curl verifies the gateway's leaf against `trust`); the first GET, which
    also pays the handshakes, is left out. None: the GETs did not end
    within `max_time` seconds."""
    url = f"https://{INSPECT_NAME}{path}"
    argv = ["curl", "-sS", "--cacert", str(trust), "--connect-to",
            f"{INSPECT_NAME}:443:{INSPECT_V4}:443", "-w",
            "%{http_code} %{size_download} %{time_total} %{num_connects}\\n",
            "--max-time", f"{max_time:g}"]
    for _ in range(count + 1):
        argv += ["-o", "/dev/null", url]
    proc = lab.topology.run_in("client", argv, check=False, timeout=900)
    rows = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode == 28:  # curl: operation timed out
        return None
    if len(rows) != count + 1:
        raise RuntimeError(f"curl failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    times = []
    for code, size, total, connects in rows[1:]:
        if code != "200" or int(size) != OBJECTS[path] or connects != "0":
            # A short or failed answer: counted, reported, never timed.
            BAD_GETS.append(f"{path}: HTTP {code}, {size} bytes, {connects} new connections")
            continue
        times.append(float(total))
    if not times:
        raise RuntimeError(f"curl {path}: no complete GET: {BAD_GETS[-3:]}")
    return times


def icap_event_ms(lab: Lab, path: str, since: int) -> list[float]:
    events = lab.gateway.events()[since:]
    return [float(e["ms"]) for e in events
            if e.get("type") == "icap" and e.get("url", "").endswith(path)
            and e.get("verdict") == "clean"]


def service_ms(lab: Lab, paths: dict[str, pathlib.Path], count: int) -> list[float]:
    proc = lab.topology.run_in("router", [sys.executable, str(HERE / "icap_timing.py"),
                                          "127.0.0.1", str(ICAP_PORT), "avscan",
                                          str(paths["/obj1m"]), str(count + 1)],
                               check=False, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"icap_timing failed: {proc.stdout}\n{proc.stderr}")
    return [float(x) for x in proc.stdout.split()][1:]


def diagnosis(gateway: Gateway) -> str:
    """What the gateway said about a failed figure."""
    if gateway.name == "squid":
        return gateway.proxy.log_tail()
    odd = [e for e in gateway.lab.gateway.events()
           if e.get("type") == "icap" and e.get("verdict") != "clean"
           or e.get("type") not in ("icap", "flow_start", "flow_end", "http")]
    return f"events: {odd[-10:]}\n{gateway.lab.gateway.log_tail()}"


def measure(gateway: Gateway, paths: dict[str, pathlib.Path], args) -> dict[str, float]:
    lab = gateway.lab
    got: dict[str, float] = {}
    bad_before = len(BAD_GETS)
    gateway.start(scan=True)
    try:
        _, got["warmup_failed"] = h1_requests(lab, args.requests // 10, args.connections)
        pids = gateway.proxy.pids()
        service_pids = process_tree(gateway.av.icap.pid) + [gateway.av.clamd.pid]
        cpu0, service0 = cpu_seconds(pids), cpu_seconds(service_pids)
        got["requests"], got["failed"] = h1_requests(lab, args.requests, args.connections)
        got["cpu_ms_per_request"] = (cpu_seconds(pids) - cpu0) * 1000 / args.requests
        got["service_cpu_ms"] = (cpu_seconds(service_pids) - service0) * 1000 / args.requests
        big = curl_times(lab, gateway.trust, "/obj100m", args.big_gets,
                         max_time=args.big_timeout * (args.big_gets + 1))
        got["flow1"] = (statistics.median(OBJECTS["/obj100m"] / 1e6 / t for t in big) if big
                        else float("nan"))  # stalled: no figure
        since = len(lab.gateway.events())
        got["latency_scan"] = statistics.median(
            curl_times(lab, gateway.trust, "/obj1m", args.latency_gets)) * 1000
        if gateway.name == "tlsgate":
            ms = icap_event_ms(lab, "/obj1m", since)
            if len(ms) < args.latency_gets:
                raise RuntimeError(f"{len(ms)} clean icap events for /obj1m, expected "
                                   f"{args.latency_gets + 1}")
            got["event_ms"] = statistics.median(ms)
        got["service"] = statistics.median(service_ms(lab, paths, args.latency_gets))
    except RuntimeError as e:
        raise RuntimeError(f"{gateway.name}: {e}\n{diagnosis(gateway)}") from e
    finally:
        gateway.stop()
    gateway.start(scan=False)
    try:
        got["latency_plain"] = statistics.median(
            curl_times(lab, gateway.trust, "/obj1m", args.latency_gets)) * 1000
    except RuntimeError as e:
        raise RuntimeError(f"{gateway.name} without ICAP: {e}\n{diagnosis(gateway)}") from e
    finally:
        gateway.stop()
    got["bad_gets"] = len(BAD_GETS) - bad_before
    for line in BAD_GETS[bad_before:]:
        print(f"{gateway.name}: incomplete GET {line}", file=sys.stderr, flush=True)
    got["added"] = got["latency_scan"] - got["latency_plain"]
    got["overhead"] = got["added"] - got["service"]
    return got


def report(rows: list[dict], args, load: tuple[float, float], squid_version: str) -> str:
    def values(name, key):
        return [r[name][key] for r in rows]

    def cell(name, key, digits=1):
        v = [x for x in values(name, key) if x == x]  # NaN: no figure (stalled)
        if len(v) < len(rows):
            return f"stalled in {len(rows) - len(v)} of {len(rows)}" + (
                f"; {statistics.median(v):.{digits}f}" if v else "")
        return f"{statistics.median(v):.{digits}f} ({min(v):.{digits}f}–{max(v):.{digits}f})"

    def ratio(key):
        v = [r["tlsgate"][key] / r["squid"][key] for r in rows]
        v = [x for x in v if x == x]
        if not v:
            return "—"
        return f"**{statistics.median(v):.2f}** ({min(v):.2f}–{max(v):.2f})"

    def failed(name):
        return (f"{sum(int(r[name]['warmup_failed']) for r in rows)} / "
                f"{sum(int(r[name]['failed']) for r in rows)}")

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{SECTION}\n\n"
        f"Written by `sudo python3 bench/icap_vs_squid.py {' '.join(sys.argv[1:])}` "
        f"on {when}: {len(rows)} repetitions alternating the gateways (tlsgate Release, no "
        f"sanitizers; {squid_version} from Debian `squid-openssl`, {args.squid_workers} workers, "
        f"intercept + ssl-bump, peek at step 1 then bump, leaves signed with the same gateway "
        f"intermediate, no cache) on one bench lab, each in the router namespace; both send every "
        f"response to the same c-icap 0.5.10 `virus_scan` (mode=simple, allow204) over clamd "
        f"with the lab's signature database (RESPMOD; Squid `respmod_precache`, tlsgate "
        f"`[[icap]] max_scan_size = {MAX_SCAN >> 20} MiB` so the 100 MiB object is scanned, not "
        f"passed as oversize; clamd limits raised to scan it whole). Squid 5.7 with "
        f"`mode=simple` stalls on every body over 64 KiB (the most it backs up to allow a 204): "
        f"c-icap waits for the end of the body, Squid stops sending it, the client gets nothing "
        f"until c-icap's 300 s timeout (reproduced outside the lab). So Squid sends bodies over "
        f"64 KiB to the same virus_scan in `mode=streamed` (an `adaptation_access` on the reply's "
        f"Content-Length), which streams the body back while clamd scans it: the client "
        f"receives it before the verdict, where tlsgate releases nothing before the verdict. "
        f"Objects are random bytes "
        f"(clean). 1-minute load average {load[0]:.1f} before, {load[1]:.1f} after (two cores "
        f"shared with other work: noisy).\n\n"
        f"| figure | tlsgate | Squid | tlsgate / Squid |\n|---|---|---|---|\n"
        f"| requests/s, 10 KiB objects (h2load --h1, {args.connections} keep-alive "
        f"connections, {args.requests} GETs) | {cell('tlsgate', 'requests')} | "
        f"{cell('squid', 'requests')} | {ratio('requests')} |\n"
        f"| failed 10 KiB requests (not 2xx), warm-up / run, all repetitions | "
        f"{failed('tlsgate')} | {failed('squid')} | |\n"
        f"| curl GETs (1 MiB, 100 MiB) that did not get the whole object, all repetitions | "
        f"{sum(int(r['tlsgate']['bad_gets']) for r in rows)} | "
        f"{sum(int(r['squid']['bad_gets']) for r in rows)} | |\n"
        f"| gateway CPU ms per 10 KiB request (utime+stime, c-icap and clamd not counted) | "
        f"{cell('tlsgate', 'cpu_ms_per_request', 3)} | {cell('squid', 'cpu_ms_per_request', 3)} | "
        f"{ratio('cpu_ms_per_request')} |\n"
        f"| c-icap + clamd CPU ms per 10 KiB request (same window) | "
        f"{cell('tlsgate', 'service_cpu_ms', 3)} | {cell('squid', 'service_cpu_ms', 3)} | "
        f"{ratio('service_cpu_ms')} |\n"
        f"| 1 flow, clean 100 MiB object, MB/s (curl, median of {args.big_gets} GETs on one "
        f"connection) | {cell('tlsgate', 'flow1')} | {cell('squid', 'flow1')} | "
        f"{ratio('flow1')} |\n"
        f"| 1 MiB GET with scanning, ms (median of {args.latency_gets}) | "
        f"{cell('tlsgate', 'latency_scan')} | {cell('squid', 'latency_scan')} | "
        f"{ratio('latency_scan')} |\n"
        f"| 1 MiB GET, same gateway without ICAP, ms | {cell('tlsgate', 'latency_plain')} | "
        f"{cell('squid', 'latency_plain')} | {ratio('latency_plain')} |\n"
        f"| added by scanning, ms | {cell('tlsgate', 'added')} | {cell('squid', 'added')} | "
        f"|\n"
        f"| the service's own time for the 1 MiB object, ms (RESPMOD straight to c-icap, "
        f"Allow: 204, whole body) | {cell('tlsgate', 'service')} | {cell('squid', 'service')} "
        f"| |\n"
        f"| overhead beyond the service's time, ms (added − service) | "
        f"{cell('tlsgate', 'overhead')} | {cell('squid', 'overhead')} | |\n"
        f"| tlsgate's `icap` event ms for the 1 MiB object | {cell('tlsgate', 'event_ms')} | "
        f"| |\n\n"
        f"Goals (issue 13 item 6): requests/s and 1-flow throughput ≥ 1.5× Squid; scanning "
        f"overhead ≤ the service's own time + 1 ms. Latency is measured on a kept-alive "
        f"connection (curl, the first GET with the handshakes left out); the service time is "
        f"measured in the same repetition, right after the gateway's GETs. h2load does not "
        f"verify certificates; curl verifies each gateway's leaf against the gateway CA.\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=pathlib.Path, required=True, help="Release build directory")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--big-gets", type=int, default=3)
    ap.add_argument("--latency-gets", type=int, default=20)
    ap.add_argument("--big-timeout", type=float, default=60,
                    help="seconds a 100 MiB GET may take before the gateway counts as stalled")
    ap.add_argument("--squid-workers", type=int, default=2)
    ap.add_argument("--out", type=pathlib.Path, default=HERE / "RESULTS.md")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench: run as root (network namespaces, BPF)", file=sys.stderr)
        return 77
    teardown_on_signals()  # SIGTERM (e.g. timeout) still stops every process and the lab
    bins = build_binaries(args.build, ("tlsgated", "tlsgatectl", "leaves"))
    os.environ["TLSGATED"], os.environ["TLSGATECTL"] = bins["tlsgated"], bins["tlsgatectl"]
    descriptor_limit()
    load_before = os.getloadavg()[0]
    squid_version = subprocess.run(["squid", "-v"], capture_output=True, text=True).stdout
    squid_version = squid_version.splitlines()[0].replace("Squid Cache: Version", "Squid")
    rows = []
    with Lab(bench_lab_id(), sites=[plan.site("good.lab.test")]) as lab:
        set_sysctls(lab)
        paths = write_objects(lab.dir / "objects")
        upstream = BenchUpstream(lab, lab.dir / "bench-nginx", bins["leaves"], 1, objects=paths)
        av = AvService(lab.topology, lab.dir / "av", clamd_extra=CLAMD_LIMITS,
                       icap_extra=STREAMED)
        gateways = {}
        try:
            upstream.start()
            av.start()
            first = Tlsgate(lab, bins["tlsgated"])
            first.start()  # creates the gateway CA both gateways sign with
            trust = client_bundle(lab, lab.dir)
            first.stop()
            gateways = {name: Gateway(name, lab, av, trust, args.squid_workers) for name in ("tlsgate", "squid")}
            for rep in range(args.reps):
                order = ["tlsgate", "squid"] if rep % 2 == 0 else ["squid", "tlsgate"]
                got = {name: measure(gateways[name], paths, args) for name in order}
                rows.append(got)
                # Written after every repetition: a run cut short keeps its figures.
                write_section(args.out, SECTION,
                              report(rows, args, (load_before, os.getloadavg()[0]),
                                     squid_version))
                print(f"rep {rep}: " + "; ".join(
                    f"{name} " + ", ".join(f"{k} {v:.2f}" for k, v in got[name].items())
                    for name in ("tlsgate", "squid")), flush=True)
        finally:
            for gateway in gateways.values():
                gateway.stop()
                for line in gateway.failures[:20]:
                    print(f"{gateway.name} failed: {line}", file=sys.stderr)
            problems = av.stop() + upstream.stop()
            if problems:
                print("bench: " + "; ".join(problems), file=sys.stderr)
    print(args.out.read_text()[args.out.read_text().find(SECTION):] if rows else "no figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
