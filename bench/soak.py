"""The soak (issue 14.3): tlsgated under a steady mix of inspected and
bypassed flows for a long time; its resident memory and open descriptors
are sampled every 10 s. After a warm-up (a tenth of the run, at least
2 minutes) neither may grow: RSS by less than 5 %, descriptors not at all
(compared between the warm-up sample and the last one, both taken with the
same traffic running). Writes bench/RESULTS-soak.md and exits 1 when a
target is missed. Run through bench/soak.sh."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "lab"))

import lab_sites as plan  # noqa: E402
from lab import Lab  # noqa: E402
from lab_case import new_lab_id  # noqa: E402

RSS_GROWTH_LIMIT = 0.05
SAMPLE_S = 10


def rss_kib(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--rate", type=float, default=10.0, help="new flows per second")
    p.add_argument("--out", default=str(HERE / "RESULTS-soak.md"))
    args = p.parse_args()
    seconds = args.minutes * 60
    warmup = max(120.0, seconds / 10)

    lab = Lab(new_lab_id())
    lab.up()
    try:
        gateway = lab.start_gateway()
        bundle = lab.client_bundle()
        client = lab.topology.ns_argv("client", [
            "/usr/bin/python3", str(HERE / "soak_client.py"),
            "--inspected", f"good.lab.test={plan.site_address('good.lab.test', 4)}",
            "--bypassed", f"bypass.lab.test={plan.site_address('bypass.lab.test', 4)}",
            "--ca", str(bundle), "--rate", str(args.rate), "--seconds", str(seconds)])
        traffic = subprocess.Popen(client, stdout=subprocess.PIPE, text=True)
        last = {}

        def read_traffic():
            for line in traffic.stdout:
                last.update(json.loads(line))
        reader = threading.Thread(target=read_traffic, daemon=True)
        reader.start()

        samples = []
        start = time.monotonic()
        while traffic.poll() is None and time.monotonic() - start < seconds:
            samples.append((time.monotonic() - start, rss_kib(gateway.pid), fd_count(gateway.pid)))
            print(f"soak: t={samples[-1][0]:.0f}s rss={samples[-1][1]} KiB fds={samples[-1][2]} "
                  f"flows={last}", flush=True)
            time.sleep(SAMPLE_S)
        after_warmup = next(s for s in samples if s[0] >= warmup)
        end = samples[-1]
        traffic.wait(timeout=120)
        reader.join(timeout=5)
        peak = max(s[1] for s in samples)
    finally:
        lab.down()

    growth = (end[1] - after_warmup[1]) / after_warmup[1]
    fd_growth = end[2] - after_warmup[2]
    ok = growth < RSS_GROWTH_LIMIT and fd_growth <= 0
    flows = last.get("ok", 0) + last.get("failed", 0)
    lines = [
        "# Soak (bench/soak.sh)",
        "",
        f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on "
        f"{os.uname().nodename}, {os.cpu_count()} CPUs: `bench/soak.sh --minutes "
        f"{args.minutes:g} --rate {args.rate:g}`; tlsgated {gateway_build()}.",
        "",
        f"Steady mix: {args.rate:g} new flows/s alternating inspected (good.lab.test) and "
        f"bypassed (bypass.lab.test, decided by the kernel once learned); {flows} flows, "
        f"{last.get('failed', 0)} failed.",
        "",
        "| | after warm-up (t={:.0f}s) | end (t={:.0f}s) | growth | target |".format(
            after_warmup[0], end[0]),
        "|---|---|---|---|---|",
        f"| RSS | {after_warmup[1]} KiB | {end[1]} KiB | {growth * 100:+.2f} % | < 5 % |",
        f"| open fds | {after_warmup[2]} | {end[2]} | {fd_growth:+d} | no growth |",
        "",
        f"Peak RSS {peak} KiB. Verdict: {'met' if ok else 'MISSED'}.",
        "",
    ]
    pathlib.Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if ok else 1


def gateway_build() -> str:
    """The build directory's name (never a path of this machine), and the
    sanitizer options when the build has them."""
    path = pathlib.Path(os.environ.get("TLSGATED", "?"))
    build = path.parents[2].name if len(path.parents) > 2 else str(path)
    asan = os.environ.get("ASAN_OPTIONS")
    return f"from {build}" + (f" (ASAN_OPTIONS={asan})" if asan else "")


if __name__ == "__main__":
    sys.exit(main())
