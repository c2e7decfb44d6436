#!/usr/bin/env python3
"""h2 requests/s through tlsgate's active HTTP layer (h2 terminated on both
sides, DESIGN.md §4a) against the plain relay it replaced, in one run on the
same lab: h2load in the client namespace, one connection, 100 concurrent
streams, small objects from the lab nginx (good.lab.test, h2), through
tlsgated in the router namespace. The two binaries alternate, in opposite
order every other repetition; the figure is the median of the per-repetition
ratios. Writes (or replaces) the "h2 requests/s" section of bench/RESULTS.md.

    sudo python3 bench/h2_requests.py --layer BUILD/userspace/daemon/tlsgated \\
        --relay OLD/userspace/daemon/tlsgated --tlsgatectl BUILD/userspace/ctl/tlsgatectl

Both builds should be Release without sanitizers (bench/run.sh's flags); the
relay is a build of the commit before the HTTP layer (9bfd1e4).
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

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "lab"))

import lab_sites as plan  # noqa: E402
from lab import Lab  # noqa: E402

from bench_lab import bench_lab_id, set_sysctls  # noqa: E402

SITE = "good.lab.test"
SECTION = "## h2 requests/s through the HTTP layer"
REQS_RE = re.compile(r"finished in [\d.]+\w+, ([\d.]+) req/s")
DONE_RE = re.compile(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded")


def h2load(lab: Lab, requests: int, streams: int) -> float:
    address = plan.site_address(SITE, 4)
    argv = ["h2load", "-n", str(requests), "-c", "1", "-m", str(streams),
            f"--connect-to={address}:443", f"https://{SITE}/"]
    proc = lab.topology.run_in("client", argv, check=False, timeout=300)
    rate, done = REQS_RE.search(proc.stdout), DONE_RE.search(proc.stdout)
    if proc.returncode != 0 or rate is None or done is None or int(done.group(2)) != requests:
        raise RuntimeError(f"h2load failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return float(rate.group(1))


def measure(lab: Lab, tlsgated: str, tlsgatectl: str, requests: int, streams: int,
            warmup: int) -> float:
    os.environ["TLSGATED"], os.environ["TLSGATECTL"] = tlsgated, tlsgatectl
    lab.start_gateway()
    try:
        h2load(lab, warmup, streams)
        return h2load(lab, requests, streams)
    finally:
        status = lab.gateway.terminate()
        if status != 0:
            raise RuntimeError(f"tlsgated ({tlsgated}) stopped with {status}")


def write_section(results: pathlib.Path, text: str) -> None:
    old = results.read_text() if results.exists() else "# tlsgate benchmark results\n"
    start = old.find(SECTION)
    if start >= 0:
        end = old.find("\n## ", start + len(SECTION))
        old = old[:start] + (old[end + 1:] if end >= 0 else "")
    results.write_text(old.rstrip("\n") + "\n\n" + text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layer", required=True, help="tlsgated with the HTTP layer")
    ap.add_argument("--relay", required=True, help="tlsgated of the commit before it")
    ap.add_argument("--tlsgatectl", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=2000)
    ap.add_argument("--out", type=pathlib.Path, default=HERE / "RESULTS.md")
    args = ap.parse_args(argv)

    load_before = os.getloadavg()[0]
    rows = []
    with Lab(bench_lab_id()) as lab:
        set_sysctls(lab)
        for rep in range(args.reps):
            order = [("relay", args.relay), ("layer", args.layer)]
            if rep % 2:
                order.reverse()
            got = {name: measure(lab, binary, args.tlsgatectl, args.requests, args.streams,
                                 args.warmup) for name, binary in order}
            rows.append(got)
            print(f"rep {rep}: relay {got['relay']:.0f} req/s, layer {got['layer']:.0f} req/s, "
                  f"ratio {got['layer'] / got['relay']:.2f}", flush=True)
    ratios = [r["layer"] / r["relay"] for r in rows]
    relay = [r["relay"] for r in rows]
    layer = [r["layer"] for r in rows]
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (f"{SECTION}\n\n"
            f"Written by `sudo python3 bench/h2_requests.py` on {when}: h2load, 1 connection, "
            f"{args.streams} concurrent streams, {args.requests} GETs of a 19-byte body from the "
            f"lab nginx (h2) per figure after {args.warmup} to warm up, {args.reps} repetitions "
            f"alternating the two binaries; Debug/Release as built (see the command line). "
            f"*Relay*: tlsgated of the commit before the HTTP layer (decrypt, observe "
            f"passively, relay); *layer*: h2 terminated on both sides by nghttp2 sessions, "
            f"every stream through the filter chain (authority). 1-minute load average "
            f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after (shared cores).\n\n"
            f"| figure | relay | layer | layer / relay |\n|---|---|---|---|\n"
            f"| h2 requests/s, median (min–max) | {statistics.median(relay):.0f} "
            f"({min(relay):.0f}–{max(relay):.0f}) | {statistics.median(layer):.0f} "
            f"({min(layer):.0f}–{max(layer):.0f}) | **{statistics.median(ratios):.2f}** "
            f"({min(ratios):.2f}–{max(ratios):.2f}) |\n\n"
            f"Goal (issue 12 item 5): ≥ 0.9× the relay.\n")
    write_section(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
