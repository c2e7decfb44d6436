#!/usr/bin/env python3
"""The cost of the active HTTP layer on inspected flows, HTTP/1.1 and h2
(DESIGN.md §4a; issue 12 item 5): tlsgated with the layer against tlsgated of
the commit before it (decrypt, observe passively, relay), in one run on one
bench lab. The two binaries alternate, in opposite order every other
repetition; each figure's ratio is the median of the per-repetition ratios.
Figures:

  bulk 1 flow     bench_tls_load bulk, one keep-alive flow downloading /bulk
  requests/s      h2load --h1, 8 keep-alive connections, GET / (3-byte body)
  h2 requests/s   h2load over h2, 4 connections of 100 concurrent streams
                  (-m 100), GET / (3-byte body); also through mitmproxy
                  (transparent mode, same upstream nginx) once per repetition
  memory          KiB per idle inspected connection (1000 held, one GET
                  each), over HTTP/1.1 and over h2

Writes (or replaces) its section of bench/RESULTS.md.

    sudo python3 bench/http1_layer_vs_relay.py --layer build-bench --relay OLD/build-bench

Both builds as bench/run.sh makes them (Release, no sanitizers); the bench
tools come from --layer (the relay build needs only tlsgated and tlsgatectl).
The relay build: `git worktree add --detach OLD b8c71bd` (the commit before
the HTTP layer), then in OLD the cmake line of bench/run.sh and
`ninja -C build-bench tlsgated tlsgatectl`.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import pathlib
import re
import statistics
import sys

from bench_lab import (INSPECT_NAME, INSPECT_V4, BenchUpstream, Lab, bench_lab_id,
                       client_bundle, set_sysctls)
import lab_sites as plan
from bench_measure import LoadRunner, LoadSpec, hold_memory
from results_section import build_binaries, write_section
from bench_peers import Mitmproxy, Tlsgate

HERE = pathlib.Path(__file__).resolve().parent
SECTION = "## HTTP/1.1 and h2 through the HTTP layer against the relay"
OLD_SECTIONS = ("## HTTP/1.1 through the HTTP layer against the relay",)
FIGURES = ("requests", "h2_requests", "bulk1", "memory", "memory_h2")
REQS_RE = re.compile(r"finished in [\d.]+\w+, ([\d.]+) req/s")
DONE_RE = re.compile(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded")


def h1_requests(lab: Lab, requests: int, connections: int) -> float:
    argv = ["h2load", "--h1", "-n", str(requests), "-c", str(connections),
            f"--connect-to={INSPECT_V4}:443", f"https://{INSPECT_NAME}/"]
    proc = lab.topology.run_in("client", argv, check=False, timeout=300)
    rate, done = REQS_RE.search(proc.stdout), DONE_RE.search(proc.stdout)
    if proc.returncode != 0 or rate is None or done is None or int(done.group(2)) != requests:
        raise RuntimeError(f"h2load failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return float(rate.group(1))


def h2_requests(lab: Lab, requests: int, connections: int, streams: int) -> float:
    argv = ["h2load", "-n", str(requests), "-c", str(connections), "-m", str(streams),
            f"--connect-to={INSPECT_V4}:443", f"https://{INSPECT_NAME}/"]
    proc = lab.topology.run_in("client", argv, check=False, timeout=300)
    rate, done = REQS_RE.search(proc.stdout), DONE_RE.search(proc.stdout)
    if (proc.returncode != 0 or rate is None or done is None or int(done.group(2)) != requests
            or "Application protocol: h2" not in proc.stdout):
        raise RuntimeError(f"h2load failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return float(rate.group(1))


def measure(lab: Lab, bins: dict, runner: LoadRunner, trust: pathlib.Path, loader: str,
            args) -> dict[str, float]:
    os.environ["TLSGATED"], os.environ["TLSGATECTL"] = bins["tlsgated"], bins["tlsgatectl"]
    proxy = Tlsgate(lab, bins["tlsgated"])
    proxy.start()
    try:
        h1_requests(lab, args.requests // 10, args.connections)  # warm-up
        got = {"requests": h1_requests(lab, args.requests, args.connections)}
        h2_requests(lab, args.h2_requests // 10, args.h2_connections, args.h2_streams)
        got["h2_requests"] = h2_requests(lab, args.h2_requests, args.h2_connections,
                                         args.h2_streams)
        bulk = runner.run(LoadSpec("bulk", INSPECT_V4, "1.3", sni=INSPECT_NAME, concurrency=1,
                                   threads=1, path="/bulk"), proxy)
        got["bulk1"] = bulk.value
        for key, h2 in (("memory", False), ("memory_h2", True)):
            mem = hold_memory(lab, loader, trust, proxy, INSPECT_V4, INSPECT_NAME, args.hold,
                              h2=h2)
            if mem.failed > 0 or mem.connections < args.hold:
                # No figure from connections that were not held: the cell says why.
                got[key] = math.nan
                got.setdefault("why", {})[key] = (f"{mem.connections} of {args.hold} held, "
                                                  f"{mem.failed} failed: {mem.errors}")
                print(f"{key}: {got['why'][key]}", file=sys.stderr, flush=True)
                continue
            got[key] = mem.kib_per_connection
        return got
    finally:
        proxy.stop()


def measure_mitmproxy(lab: Lab, args) -> float:
    proxy = Mitmproxy(lab, lab.dir / "mitmproxy", lab.pki.trust_bundle)
    proxy.start()
    try:
        h2_requests(lab, args.mitmproxy_requests // 10, args.h2_connections, args.h2_streams)
        return h2_requests(lab, args.mitmproxy_requests, args.h2_connections, args.h2_streams)
    finally:
        proxy.stop()


def shown_command(argv) -> str:
    """The command line as RESULTS.md shows it: build directories outside the
    tree by their role, never a path of the machine that ran it."""
    words = list(argv if argv is not None else sys.argv[1:])
    for i, word in enumerate(words[:-1]):
        if word in ("--layer", "--relay", "--out") and pathlib.Path(words[i + 1]).is_absolute():
            words[i + 1] = {"--layer": "build-bench", "--relay": "OLD/build-bench",
                            "--out": "RESULTS.md"}[word]
    return " ".join(words)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layer", type=pathlib.Path, required=True, help="build with the HTTP layer")
    ap.add_argument("--relay", type=pathlib.Path, required=True, help="build of the commit before")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--h2-requests", type=int, default=100000)
    ap.add_argument("--mitmproxy-requests", type=int, default=5000,
                    help="h2 GETs through mitmproxy (about 1000/s: fewer than through tlsgated)")
    ap.add_argument("--h2-connections", type=int, default=4)
    ap.add_argument("--h2-streams", type=int, default=100)
    ap.add_argument("--no-mitmproxy", action="store_true", help="skip the mitmproxy figure")
    ap.add_argument("--hold", type=int, default=1000)
    ap.add_argument("--out", type=pathlib.Path, default=HERE / "RESULTS.md")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench: run as root (network namespaces, BPF)", file=sys.stderr)
        return 77
    builds = {"relay": build_binaries(args.relay, ("tlsgated", "tlsgatectl")),
              "layer": build_binaries(args.layer)}
    load_before = os.getloadavg()[0]
    rows = []
    with Lab(bench_lab_id(), sites=[plan.site("good.lab.test")]) as lab:
        set_sysctls(lab)
        upstream = BenchUpstream(lab, lab.dir / "bench-nginx", builds["layer"]["leaves"], 100)
        upstream.start()
        try:
            first = Tlsgate(lab, builds["layer"]["tlsgated"])
            os.environ["TLSGATED"] = builds["layer"]["tlsgated"]
            os.environ["TLSGATECTL"] = builds["layer"]["tlsgatectl"]
            first.start()  # creates the gateway CA both binaries sign with
            trust = client_bundle(lab, lab.dir)
            first.stop()
            runner = LoadRunner(lab, builds["layer"]["load"], trust, args.warmup, args.duration)
            for rep in range(args.reps):
                order = ["relay", "layer"] if rep % 2 == 0 else ["layer", "relay"]
                got = {name: measure(lab, builds[name], runner, trust, builds["layer"]["load"],
                                     args) for name in order}
                if not args.no_mitmproxy:
                    got["mitmproxy"] = {"h2_requests": measure_mitmproxy(lab, args)}
                rows.append(got)
                print(f"rep {rep}: " + ", ".join(
                    f"{k} relay {got['relay'][k]:.1f} layer {got['layer'][k]:.1f}"
                    for k in FIGURES) + (f", h2_requests mitmproxy "
                                         f"{got['mitmproxy']['h2_requests']:.1f}"
                                         if "mitmproxy" in got else ""), flush=True)
        finally:
            upstream.stop()

    def failed(name: str, key: str) -> str | None:
        why = [r[name].get("why", {}).get(key) for r in rows]
        return next((w for w in why if w), None)

    def cell(name: str, key: str) -> str:
        if (why := failed(name, key)) is not None:
            return f"not measured ({why})"
        v = [r[name][key] for r in rows]
        return f"{statistics.median(v):.1f} ({min(v):.1f}–{max(v):.1f})"

    def ratio(key: str, to: str = "relay") -> str:
        if failed("layer", key) is not None or failed(to, key) is not None:
            return "–"
        v = [r["layer"][key] / r[to][key] for r in rows]
        return f"**{statistics.median(v):.2f}** ({min(v):.2f}–{max(v):.2f})"

    mitm = ""
    if not args.no_mitmproxy:
        mitm = (f"\n| figure | mitmproxy | layer | layer / mitmproxy |\n|---|---|---|---|\n"
                f"| h2 requests/s (same h2load command, {args.mitmproxy_requests} GETs through "
                f"mitmproxy) | {cell('mitmproxy', 'h2_requests')} | "
                f"{cell('layer', 'h2_requests')} | {ratio('h2_requests', 'mitmproxy')} |\n")

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (f"{SECTION}\n\n"
            f"Written by `sudo python3 bench/http1_layer_vs_relay.py` on {when}: "
            f"{args.reps} repetitions alternating the two binaries (Release, no sanitizers) on "
            f"one bench lab. *Relay*: tlsgated of the commit before the HTTP layer (decrypt, "
            f"observe passively, relay); *layer*: every request parsed by the strict "
            f"HTTP/1.1 engine or terminated on both sides by the h2 engine, and run through "
            f"the filter chain (authority), bodies forwarded by the engine. 1-minute load average {load_before:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after (two cores shared with other work: noisy).\n\n"
            f"| figure | relay | layer | layer / relay |\n|---|---|---|---|\n"
            f"| HTTP/1.1 requests/s (h2load --h1, {args.connections} keep-alive connections, "
            f"{args.requests} GETs of 3 bytes) | {cell('relay', 'requests')} | "
            f"{cell('layer', 'requests')} | {ratio('requests')} |\n"
            f"| h2 requests/s (h2load, {args.h2_connections} connections × {args.h2_streams} "
            f"concurrent streams, {args.h2_requests} GETs of 3 bytes) | "
            f"{cell('relay', 'h2_requests')} | {cell('layer', 'h2_requests')} | "
            f"{ratio('h2_requests')} |\n"
            f"| bulk 1 flow, MB/s ({args.duration:g} s after {args.warmup:g} s) | "
            f"{cell('relay', 'bulk1')} | {cell('layer', 'bulk1')} | {ratio('bulk1')} |\n"
            f"| KiB per idle inspected HTTP/1.1 connection ({args.hold} held) | "
            f"{cell('relay', 'memory')} | {cell('layer', 'memory')} | {ratio('memory')} |\n"
            f"| KiB per idle inspected h2 connection ({args.hold} held) | "
            f"{cell('relay', 'memory_h2')} | {cell('layer', 'memory_h2')} | "
            f"{ratio('memory_h2')} |\n"
            f"{mitm}\n"
            f"Command: `sudo python3 bench/http1_layer_vs_relay.py {shown_command(argv)}`"
            f"\n\nGoals (issue 12 item 5): throughput and requests/s (HTTP/1.1 and h2) ≥ 0.9× the "
            f"relay; h2 requests/s ≥ 2× mitmproxy; memory per idle inspected connection "
            f"≤ 32 KiB.\n")
    for title in OLD_SECTIONS:  # this section's earlier title
        if args.out.exists() and title in args.out.read_text():
            write_section(args.out, title, "")
    write_section(args.out, SECTION, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
