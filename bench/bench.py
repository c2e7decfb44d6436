#!/usr/bin/python3
"""tlsgate benchmarks (DESIGN.md §9): bypass against plain forwarding,
inspection against direct, SSLsplit and mitmproxy, memory per idle
inspected connection, the BPF classifier's cost per packet. Writes
bench/RESULTS.md (--quick: bench/RESULTS-quick.md). Run through bench/run.sh
(root, Release build)."""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import signal
import subprocess
import sys
import time

from bench_lab import (INSPECT_NAME, INSPECT_V4, BenchUpstream, Lab, bench_lab_id,
                       client_bundle, descriptor_limit, set_sysctls)
import lab_sites as plan
from bench_measure import LoadRunner, LoadSpec, hold_memory
from bench_method import method_text
from bench_peers import Mitmproxy, SslSplit, Tlsgate
from bench_results import RunData, render
from bench_scenarios import BLOCKS, FIGURES, measurements, run_order

HERE = pathlib.Path(__file__).resolve().parent


class Interrupted(BaseException):
    pass


def interrupted(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


STARTED = time.monotonic()


def log(text: str) -> None:
    print(f"bench [{time.monotonic() - STARTED:5.0f} s]: {text}", file=sys.stderr, flush=True)


def first_line(argv) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = (out.stdout + out.stderr).strip().splitlines()
    return lines[0].strip() if lines else "?"


def loadavg() -> str:
    return pathlib.Path("/proc/loadavg").read_text().split(" ")[0]


def machine_info() -> dict[str, str]:
    cpu = "?"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = pathlib.Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores (client, router and server namespaces share them)",
        "memory": f"{int(mem) // 1024} MiB",
        "kernel": platform.release(),
        "OS": "Debian " + pathlib.Path("/etc/debian_version").read_text().strip(),
        "virtualization": first_line(["systemd-detect-virt"]),
    }


def versions(build: pathlib.Path, proxies) -> dict[str, str]:
    commit = first_line(["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"])
    cache = (build / "CMakeCache.txt").read_text() if (build / "CMakeCache.txt").exists() else ""
    build_type = next((line.split("=", 1)[1] for line in cache.splitlines()
                       if line.startswith("CMAKE_BUILD_TYPE:")), "?")
    sanitized = "ON" if "TLSGATE_SANITIZE:BOOL=ON" in cache else "OFF"
    out = {"tlsgate": f"{commit} ({build_type} build, sanitizers {sanitized})",
           "OpenSSL": first_line(["openssl", "version"]),
           "nginx": first_line(["nginx", "-v"])}
    for p in proxies:
        if p.name != "tlsgate":
            out[p.name] = p.version()
    return out


def warm_proxy(runner: LoadRunner, proxy) -> None:
    """One-time allocations (forged leaf, buffers, OpenSSL state) before a
    memory baseline."""
    spec = LoadSpec("connect", INSPECT_V4, "1.3", sni=INSPECT_NAME, concurrency=32)
    saved = runner.warmup_s, runner.duration_s
    runner.warmup_s, runner.duration_s = 0.2, 1.5
    try:
        runner.run(spec, proxy)
    finally:
        runner.warmup_s, runner.duration_s = saved


def stop_quietly(proxy) -> None:
    try:
        proxy.stop()
    except Exception as e:  # teardown goes on
        log(f"stopping {proxy.name}: {e}")


class Sequencer:
    """Runs measurements in the order given, starting and stopping the
    proxies as the block changes; a figure that wants an empty cache gets a
    fresh process unless the proxy has served nothing since it started."""

    def __init__(self, runner: LoadRunner, by_name: dict):
        self.runner = runner
        self.by_name = by_name
        self.current = None  # the proxy running now (None: direct, no proxy)
        self.fresh = False

    def measure(self, m):
        proxy = self.by_name.get(m.block)
        if proxy is not self.current:
            self.stop()
            self.current = proxy  # before start: a failed start is stopped too
            if proxy:
                proxy.start()
            self.fresh = True
        elif proxy and m.fresh_proxy and not self.fresh:
            proxy.restart()
            self.fresh = True
        self.fresh = False
        return self.runner.run(m.spec, proxy)

    def stop(self) -> None:
        if self.current:
            stop_quietly(self.current)
        self.current = None


def run(args) -> int:
    build = args.build.resolve()
    bins = {"tlsgated": build / "userspace/daemon/tlsgated",
            "tlsgatectl": build / "userspace/ctl/tlsgatectl",
            "load": build / "bench/bench_tls_load", "leaves": build / "bench/bench_leaf_batch",
            "bpf": build / "bench/bench_bpf_classifier",
            "threat": build / "bench/bench_threat_lists"}
    for name, path in bins.items():
        if not os.access(path, os.X_OK):
            raise SystemExit(f"bench: {path} is not built")
    os.environ["TLSGATED"] = str(bins["tlsgated"])
    os.environ["TLSGATECTL"] = str(bins["tlsgatectl"])
    fd_limit = descriptor_limit()
    # Two descriptors per inspected connection in the proxy, plus its own.
    big = min(10000, (fd_limit - 200) // 2)
    notes = []
    if big < 10000:
        notes.append(f"RLIMIT_NOFILE is capped at {fd_limit} on this machine (no "
                     "CAP_SYS_RESOURCE to raise it): the \"10k\" memory figure holds "
                     f"{big} connections (two descriptors each in the proxy).")
    load_before = loadavg()
    started = time.monotonic()
    samples: dict = {}  # figure key -> {repetition: Sample}
    memory: dict = {}
    commands: dict = {}
    failures: list[str] = []
    bpf_text = threat_text = ""
    lab = Lab(bench_lab_id(), sites=[plan.site("good.lab.test")])
    proxies = []
    upstream = None
    sequencer = None
    loads = [float(load_before)]
    try:
        log(f"lab {lab.lab_id}: up")
        lab.up()
        set_sysctls(lab)
        upstream = BenchUpstream(lab, lab.dir / "bench-nginx", str(bins["leaves"]),
                                 args.cache_names)
        upstream.start()
        tlsgate = Tlsgate(lab, str(bins["tlsgated"]))
        tlsgate.start()  # creates the gateway CA the peers sign with
        trust = client_bundle(lab, lab.dir)
        tlsgate.stop()
        proxies = [tlsgate, SslSplit(lab, lab.dir / "sslsplit", lab.pki.trust_bundle),
                   Mitmproxy(lab, lab.dir / "mitmproxy", lab.pki.trust_bundle)]
        by_name = {p.name: p for p in proxies}
        hit_file, miss_file = lab.dir / "hit-names.txt", lab.dir / "miss-names.txt"
        hit_file.write_text("\n".join(upstream.hit_names()) + "\n")
        miss_file.write_text("\n".join(upstream.miss_names()) + "\n")
        runner = LoadRunner(lab, str(bins["load"]), trust, args.warmup, args.duration)
        blocks = [b for b in BLOCKS if b in args.blocks]
        plan_ = measurements(hit_file, miss_file, blocks, args.figures)
        for m in plan_:
            commands[m.key] = m.spec.describe()
        log(f"lab ready after {time.monotonic() - started:.0f} s; {len(plan_)} figures "
            f"x {args.reps} repetitions")
        sequencer = Sequencer(runner, by_name)
        for rep in range(args.reps):
            # Every other repetition runs the sequence backwards: a figure and
            # the one it is compared with (tlsgate and direct, tlsgate and
            # SSLsplit) change places, so a drift of the machine's other load
            # does not favour either side of a ratio.
            for m in run_order(plan_, rep):
                try:
                    s = sequencer.measure(m)
                except RuntimeError as e:
                    failures.append(f"rep {rep + 1} {m.key}: {e}")
                    log(f"rep {rep + 1}/{args.reps} {m.key} FAILED: {e}")
                    sequencer.stop()  # the next figure starts its proxy afresh
                    continue
                samples.setdefault(m.key, {})[rep] = s
                loads.append(float(loadavg()))
                unit = FIGURES[m.figure][1]
                log(f"rep {rep + 1}/{args.reps} {m.key}: {s.value:.1f} {unit}"
                    + (f", {s.failed} failed" if s.failed else ""))
        sequencer.stop()
        if args.memory:
            for _ in range(args.memory_reps):
                for name in ("tlsgate", "sslsplit"):
                    for n in (1000, big):
                        proxy = by_name[name]
                        try:
                            proxy.start()
                            warm_proxy(runner, proxy)
                            m = hold_memory(lab, str(bins["load"]), trust, proxy, INSPECT_V4,
                                            INSPECT_NAME, n, settle_s=args.memory_settle)
                        except RuntimeError as e:
                            failures.append(f"memory {name} {n}: {e}")
                            log(f"memory {name} {n} FAILED: {e}")
                            continue
                        finally:
                            stop_quietly(proxy)
                        memory.setdefault((name, n), []).append(m)
                        log(f"memory {name} {m.connections} held: "
                            f"{m.kib_per_connection:.1f} KiB/conn")
        bpf_text = subprocess.run([str(bins["bpf"])], capture_output=True, text=True,
                                  check=True).stdout
        threat_text = subprocess.run([str(bins["threat"])], capture_output=True, text=True,
                                     check=True).stdout
        version_info = versions(build, proxies)
    finally:
        # A second Ctrl-C must not cut the teardown short.
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        if sequencer:
            sequencer.stop()
        for p in proxies:
            stop_quietly(p)
        if upstream:
            for problem in upstream.stop():
                log(problem)
        lab.down(raise_on_problems=False)
        log(f"lab {lab.lab_id}: down")
    load_after = loadavg()
    notes.append(f"1-minute load average: {load_before} before the run, {load_after} after, "
                 f"{min(loads):.2f}–{max(loads):.2f} between figures; the run took "
                 f"{(time.monotonic() - started) / 60:.1f} min.")
    if max(loads) > 2.5:
        notes.append("The load average exceeded 2.5 during the run: other work shared the "
                     "two cores, figures are noisier than on an idle machine.")
    data = RunData(samples=samples, memory=memory, bpf_text=bpf_text, threat_text=threat_text, machine=machine_info(),
                   versions=version_info,
                   params={"command": args.command, "date": datetime.datetime.now(
                       datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                       "mode": "quick" if args.quick else "full", "reps": str(args.reps),
                       "duration": f"{args.duration:g}", "warmup": f"{args.warmup:g}"},
                   commands=commands, notes=notes, failures=failures)
    args.out.write_text(render(data, method_text(args, big)))
    log(f"wrote {args.out} after {(time.monotonic() - started) / 60:.1f} min")
    return 0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", type=pathlib.Path, required=True)
    p.add_argument("--quick", action="store_true", help="fewer repetitions, shorter figures")
    p.add_argument("--reps", type=int)
    p.add_argument("--duration", type=float)
    p.add_argument("--warmup", type=float)
    p.add_argument("--blocks", nargs="+", default=list(BLOCKS), choices=BLOCKS)
    p.add_argument("--figures", nargs="+", choices=FIGURES,
                   help="only these figures (default: all); the tables show only what ran")
    p.add_argument("--no-memory", dest="memory", action="store_false")
    p.add_argument("--out", type=pathlib.Path,
                   help="default: bench/RESULTS.md for a full run, bench/RESULTS-quick.md "
                        "for --quick (a quick run never replaces the committed full results)")
    p.add_argument("--command", default="./bench/run.sh")
    args = p.parse_args(argv)
    quick = args.quick
    if args.figures and not args.out:
        p.error("--figures: give --out too (a partial run never replaces bench/RESULTS.md)")
    args.out = args.out or HERE / ("RESULTS-quick.md" if quick else "RESULTS.md")
    # quick: ~4 min, full: ~20 min on the 2-core machine (bench/README.md).
    args.reps = args.reps or (3 if quick else 5)
    args.duration = args.duration or (0.8 if quick else 3.0)
    args.warmup = args.warmup or (0.4 if quick else 1.0)
    args.memory_reps = 1 if quick else 3
    args.memory_settle = 1.0 if quick else 2.0
    # Names with a leaf of their own: a cache-miss figure uses each once (the
    # direct reference makes up to ~2000 connections/s).
    args.cache_names = 3000 if quick else 8000
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench: must run as root (network namespaces, BPF)", file=sys.stderr)
        return 77
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, interrupted)
    try:
        return run(args)
    except Interrupted as e:
        print(f"bench: interrupted ({e})", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
