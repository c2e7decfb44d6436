#!/usr/bin/python3
"""Where tlsgated's CPU goes per new inspected connection: the bench lab
(bench_lab.py), tlsgated under bench_tls_load, `perf record -e cpu-clock
--call-graph dwarf` on the daemon, then every sample is put in one phase by
the innermost terminator function on its stack:

  client handshake       Connection::drive_client_handshake / start_client_handshake
  upstream + validation  begin/drive_upstream_handshake, upstream_verified,
                         revocation
  forging                the forged-certificate cache and LeafForger
  relay                  relay_tls and the HTTP layer
  other                  everything else (io_uring loop, accept, ClientHello,
                         classification, teardown, events, kernel)

and the top symbols of each phase are printed as a Markdown table, by
inclusive samples (the stack holds the symbol; the event loop's frames left
out) and by self samples (the leaf). Debian's libcrypto/libssl have no debug
symbols: an unnamed leaf shows as "<innermost named caller> (inside, <library>)".
--replay FILE re-reads a kept `perf script` output instead of measuring.

  sudo ./bench/profile_handshake.py --build build-bench [--tls 1.3] [--resume]
       [--upstream-resumes] [--seconds 8] [--top 10]
Run it under the lab lock (it creates namespaces and loads BPF)."""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import re
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_lab import (CACHE_V4, INSPECT_NAME, INSPECT_V4, BenchUpstream, Lab,  # noqa: E402
                       bench_lab_id, client_bundle, set_sysctls)
import lab_sites as plan  # noqa: E402
from bench_peers import Tlsgate, cpu_seconds  # noqa: E402

# Innermost match wins (a client handshake runs inside on_recv; forging runs
# inside upstream_verified).
PHASES = (
    ("forging", ("ForgedCertCache", "LeafForger", "forge_mirroring_upstream")),
    ("client handshake", ("drive_client_handshake", "start_client_handshake",
                          "offer_resumption")),
    ("upstream handshake + validation", ("begin_upstream_tls", "drive_upstream_handshake",
                                         "upstream_verified", "on_revocation_result",
                                         "RevocationChecker")),
    ("relay", ("relay_tls", "pass_to_http", "http::", "flush_tls", "splice_raw")),
)
OTHER = "other (io_uring loop, accept, ClientHello, teardown, events, kernel)"
FRAME = re.compile(r"^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")


def phase_of(frames: list[str]) -> str:
    for sym in frames:  # leaf first
        for phase, markers in PHASES:
            if any(m in sym for m in markers):
                return phase
    return OTHER


def short(sym: str) -> str:
    """A symbol without offsets, template arguments or parameter lists."""
    sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
    while True:
        shorter = re.sub(r"<[^<>]*>", "", sym)
        if shorter == sym:
            break
        sym = shorter
    return re.sub(r"\[abi:[^]]*\]", "", sym).replace("|", "/")


def named(sym: str) -> bool:
    return bool(sym) and sym != "[unknown]"


# Frames every sample of a phase shares (thread, event loop, the phase's own
# driver): left out of the inclusive ranking.
LOOP = ("start_thread", "clone3", "std::thread::", "Worker::", "IoRing::",
        "terminator::Connection::")


def leaf_symbol(frames: list[tuple[str, str]]) -> str:
    """The leaf's name; for an unnamed leaf (a library without symbols), its
    innermost named caller."""
    sym, dso = frames[0]
    if named(sym):
        return short(sym)
    for s, _ in frames[1:]:
        if named(s) and not any(loop in s for loop in LOOP):
            return f"{short(s)} (inside, {pathlib.Path(dso).name})"
    return f"[{pathlib.Path(dso).name} internals]"


def parse_perf_script(text: str):
    samples = []
    frames: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            if frames:
                samples.append(frames)
            frames = []
            continue
        m = FRAME.match(line)
        if m:
            frames.append((m.group(1), m.group(2)))
    if frames:
        samples.append(frames)
    return samples


def summarize(samples, top: int) -> str:
    """Per phase: the top symbols by inclusive samples (the sample's stack
    holds the symbol) and by self samples (the sample's leaf)."""
    self_of: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    incl_of: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for frames in samples:
        phase = phase_of([s for s, _ in frames])
        self_of[phase][leaf_symbol(frames)] += 1
        names = {short(s) for s, _ in frames if named(s)}
        for n in names:
            if not any(loop in n for loop in LOOP):
                incl_of[phase][n] += 1
    total = len(samples) or 1
    out = []
    for phase in [p for p, _ in PHASES] + [OTHER]:
        n = sum(self_of.get(phase, collections.Counter()).values())
        out.append(f"\n**{phase}**: {100 * n / total:.1f} % of the samples\n")
        out.append("| inclusive (stack holds it) | % of all | self (leaf) | % of all |")
        out.append("|---|---|---|---|")
        incl = incl_of.get(phase, collections.Counter()).most_common(top)
        selfs = self_of.get(phase, collections.Counter()).most_common(top)
        for i in range(max(len(incl), len(selfs))):
            a = f"`{incl[i][0]}` | {100 * incl[i][1] / total:.1f}" if i < len(incl) else " | "
            b = f"`{selfs[i][0]}` | {100 * selfs[i][1] / total:.1f}" if i < len(selfs) else " | "
            out.append(f"| {a} | {b} |")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", type=pathlib.Path, required=True)
    p.add_argument("--tls", default="1.3", choices=("1.2", "1.3"))
    p.add_argument("--resume", action="store_true", help="the client resumes")
    p.add_argument("--upstream-resumes", action="store_true",
                   help="a server that resumes sessions (default: the cache site, which "
                        "never does)")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--keep", type=pathlib.Path, help="copy perf script output here")
    p.add_argument("--replay", type=pathlib.Path, help="summarize a kept perf script output")
    args = p.parse_args(argv)
    if args.replay:
        print(summarize(parse_perf_script(args.replay.read_text()), args.top))
        return 0
    if os.geteuid() != 0:
        print("profile: run as root (namespaces, BPF)", file=sys.stderr)
        return 77
    build = args.build.resolve()
    os.environ["TLSGATED"] = str(build / "userspace/daemon/tlsgated")
    os.environ["TLSGATECTL"] = str(build / "userspace/ctl/tlsgatectl")
    loader = str(build / "bench/bench_tls_load")
    lab = Lab(bench_lab_id(), sites=[plan.site("good.lab.test")])
    upstream = None
    tlsgate = None
    try:
        lab.up()
        set_sysctls(lab)
        upstream = BenchUpstream(lab, lab.dir / "bench-nginx", str(build / "bench/bench_leaf_batch"),
                                 64)
        upstream.start()
        tlsgate = Tlsgate(lab, os.environ["TLSGATED"])
        tlsgate.start()
        trust = client_bundle(lab, lab.dir)
        names = lab.dir / "names.txt"
        names.write_text("\n".join(upstream.hit_names()) + "\n")
        target = INSPECT_V4 if args.upstream_resumes else CACHE_V4
        warmup = 1.5
        argv = [loader, "connect", "--target", f"{target}:443", "--tls", args.tls, "--ca",
                str(trust), "-c", "32", "-t", "2", "--warmup", str(warmup), "--duration",
                str(args.seconds)]
        argv += ["--sni", INSPECT_NAME] if args.upstream_resumes else ["--names-file", str(names)]
        if args.resume:
            argv.append("--resume")
        pid = tlsgate.pids()[0]
        data = lab.dir / "perf.data"
        client = subprocess.Popen(lab.topology.ns_argv("client", argv), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        time.sleep(warmup)
        cpu0 = cpu_seconds([pid])
        perf = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "1999",
                               "--call-graph", "dwarf,32768", "-p", str(pid), "-o", str(data),
                               "--", "sleep", str(args.seconds - 0.5)],
                              capture_output=True, text=True)
        cpu1 = cpu_seconds([pid])
        out, err = client.communicate(timeout=args.seconds + 60)
        if client.returncode != 0 or perf.returncode != 0:
            raise RuntimeError(f"load {client.returncode}: {err.strip()}; perf: {perf.stderr}")
        result = json.loads(out.strip().splitlines()[-1])
        script = subprocess.run(["perf", "script", "-i", str(data), "-F", "ip,sym,dso",
                                 "--max-stack", "64"], capture_output=True, text=True).stdout
        if args.keep:
            args.keep.write_text(script)
        samples = parse_perf_script(script)
        print(f"profile: TLS {args.tls}, client {'resumes' if args.resume else 'never resumes'}, "
              f"upstream {'resumes' if args.upstream_resumes else 'never resumes'}: "
              f"{result['per_second']:.0f} conn/s, {result['completed']} connections, "
              f"{result.get('resumed', 0)} resumed, {result['failed']} failed; "
              f"{len(samples)} samples; tlsgated CPU while perf ran "
              f"{1e6 * (cpu1 - cpu0) / max(result['per_second'] * (args.seconds - 0.5), 1):.0f} "
              f"µs/conn (perf's own unwinding overhead included)")
        print(summarize(samples, args.top))
    finally:
        if tlsgate:
            try:
                tlsgate.stop()
            except Exception as e:
                print(f"profile: stopping tlsgated: {e}", file=sys.stderr)
        if upstream:
            upstream.stop()
        lab.down(raise_on_problems=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
