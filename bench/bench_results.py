"""Statistics over the repetitions and bench/RESULTS.md."""

from __future__ import annotations

import dataclasses
import statistics

from bench_measure import MemorySample, Sample
from bench_scenarios import FIGURES, HANDSHAKE_CONCURRENCY, HANDSHAKE_FIGURES, MANY_FLOWS, PROXIES


@dataclasses.dataclass
class Stat:
    median: float
    low: float
    high: float
    n: int

    def text(self, digits: int = 0) -> str:
        f = f"{{:.{digits}f}}"
        return f"{f.format(self.median)} ({f.format(self.low)}–{f.format(self.high)})"


def stat(values) -> Stat | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return Stat(statistics.median(values), min(values), max(values), len(values))


@dataclasses.dataclass
class RunData:
    samples: dict[str, list[Sample]]
    memory: dict[tuple[str, int], list[MemorySample]]
    bpf_text: str
    machine: dict[str, str]
    versions: dict[str, str]
    params: dict[str, str]
    commands: dict[str, str]  # figure key -> load command
    notes: list[str]

    def value(self, key: str) -> Stat | None:
        return stat(s.value for s in self.samples.get(key, []))

    def cpu(self, key: str) -> Stat | None:
        """Proxy CPU per connection (µs) or per byte (ns)."""
        scale = 1e6 if "conn" in FIGURES[key.split(".", 1)[1]][1] else 1e3
        return stat(None if s.proxy_cpu_per_unit is None else s.proxy_cpu_per_unit * scale
                    for s in self.samples.get(key, []))

    def failed(self, key: str) -> int:
        return sum(s.failed for s in self.samples.get(key, []))


def ratio(a: Stat | None, b: Stat | None) -> float | None:
    if a is None or b is None or b.median == 0:
        return None
    return a.median / b.median


def fmt_ratio(r: float | None) -> str:
    return "n/a" if r is None else f"{r:.2f}×"


def cell(s: Stat | None, digits: int = 0) -> str:
    return "n/a" if s is None else s.text(digits)


@dataclasses.dataclass
class Target:
    what: str
    measured: float | None
    goal: float
    at_most: bool = False  # goal is an upper bound

    def met(self) -> str:
        if self.measured is None:
            return "not measured"
        ok = self.measured <= self.goal if self.at_most else self.measured >= self.goal
        return "**met**" if ok else "**missed**"


def targets(d: RunData) -> list[Target]:
    t = []
    for kind, label in (("kbypass", "kernel-decided bypass (dst rule)"),
                        ("sbypass", "terminator-decided bypass (SNI, sockmap)")):
        for fig, what in (("conn13", "connections/s"), ("bulk1", "1-flow throughput"),
                          (f"bulk{MANY_FLOWS}", f"{MANY_FLOWS}-flow throughput")):
            t.append(Target(f"{label}, {what} ≥ 0.97× plain forwarding",
                            ratio(d.value(f"tlsgate.{kind}_{fig}"),
                                  d.value(f"direct.{PLAIN_OF[fig]}")), 0.97))
    for fig, how in (("hs12", "TLS 1.2"), ("hs13", "TLS 1.3"),
                     ("hs12_hit", "TLS 1.2, server without resumption"),
                     ("hs13_hit", "TLS 1.3, server without resumption")):
        t.append(Target(f"inspected handshakes ≥ 0.45× direct ({how})",
                        ratio(d.value(f"tlsgate.{fig}"), d.value(f"direct.{fig}")), 0.45))
        t.append(Target(f"inspected handshakes ≥ 1.7× SSLsplit ({how})",
                        ratio(d.value(f"tlsgate.{fig}"), d.value(f"sslsplit.{fig}")), 1.7))
    t.append(Target("1-flow inspected throughput ≥ 0.8× direct",
                    ratio(d.value("tlsgate.bulk1"), d.value("direct.bulk1")), 0.8))
    t.append(Target("1-flow inspected throughput ≥ 2× SSLsplit",
                    ratio(d.value("tlsgate.bulk1"), d.value("sslsplit.bulk1")), 2.0))
    for (proxy, n), samples in sorted(d.memory.items()):
        if proxy == "tlsgate":
            t.append(Target(f"RSS per idle inspected connection at {n} connections ≤ 32 KiB",
                            stat(s.kib_per_connection for s in samples).median, 32.0,
                            at_most=True))
    for v in ("12", "13"):
        t.append(Target(f"TLS 1.{v[1]} cache miss ≤ 1.3× the cost of a hit (tlsgate CPU/conn)",
                        ratio(d.cpu(f"tlsgate.hs{v}_miss"), d.cpu(f"tlsgate.hs{v}_hit")), 1.3,
                        at_most=True))
    return t


# The plain-forwarding figure each bypass figure is compared with.
PLAIN_OF = {"conn13": "hs13", "bulk1": "bulk1", f"bulk{MANY_FLOWS}": f"bulk{MANY_FLOWS}"}


def _bypass_table(d: RunData) -> list[str]:
    lines = ["| figure | plain forwarding | kernel bypass | ratio | terminator bypass | ratio |",
             "|---|---|---|---|---|---|"]
    for fig in ("conn13", "bulk1", f"bulk{MANY_FLOWS}"):
        title, unit = FIGURES[f"kbypass_{fig}"]
        plain = d.value(f"direct.{PLAIN_OF[fig]}")
        k = d.value(f"tlsgate.kbypass_{fig}")
        s = d.value(f"tlsgate.sbypass_{fig}")
        lines.append(f"| {title} ({unit}) | {cell(plain)} | {cell(k)} | "
                     f"{fmt_ratio(ratio(k, plain))} | {cell(s)} | {fmt_ratio(ratio(s, plain))} |")
    return lines


def _inspection_table(d: RunData) -> list[str]:
    lines = ["| figure | direct | tlsgate | SSLsplit | mitmproxy | tlsgate/direct "
             "| tlsgate/SSLsplit | tlsgate/mitmproxy |", "|---|---|---|---|---|---|---|---|"]
    for fig in (*HANDSHAKE_FIGURES, "bulk1", f"bulk{MANY_FLOWS}"):
        title, unit = FIGURES[fig]
        v = {b: d.value(f"{b}.{fig}") for b in ("direct", *PROXIES)}
        lines.append(f"| {title} ({unit}) | " + " | ".join(cell(v[b]) for b in v) + " | "
                     + " | ".join(fmt_ratio(ratio(v["tlsgate"], v[b]))
                                  for b in ("direct", "sslsplit", "mitmproxy")) + " |")
    return lines


def _cpu_table(d: RunData) -> list[str]:
    lines = ["| figure | tlsgate | SSLsplit | mitmproxy |", "|---|---|---|---|"]
    for fig in (*HANDSHAKE_FIGURES, "bulk1", f"bulk{MANY_FLOWS}"):
        title, unit = FIGURES[fig]
        per = "µs/conn" if unit == "conn/s" else "ns/byte"
        lines.append(f"| {title} ({per}) | "
                     + " | ".join(cell(d.cpu(f"{b}.{fig}"), 1 if per == "ns/byte" else 0)
                                  for b in PROXIES) + " |")
    for kind, label in (("kbypass", "kernel bypass"), ("sbypass", "terminator bypass")):
        lines.append(f"| {label}, TLS 1.3 connections (µs/conn) | "
                     f"{cell(d.cpu(f'tlsgate.{kind}_conn13'), 1)} | – | – |")
    return lines


def _memory_table(d: RunData) -> list[str]:
    lines = ["| proxy | idle connections held | failed | RSS before (MiB) | RSS held (MiB) "
             "| KiB per connection |", "|---|---|---|---|---|---|"]
    for (proxy, n), samples in sorted(d.memory.items()):
        per = stat(s.kib_per_connection for s in samples)
        before = stat(s.rss_before_kib / 1024 for s in samples)
        after = stat(s.rss_after_kib / 1024 for s in samples)
        held = stat(s.connections for s in samples)
        lines.append(f"| {proxy} | {held.median:.0f} (target {n}) | "
                     f"{sum(s.failed for s in samples)} | {cell(before, 1)} | {cell(after, 1)} | "
                     f"{cell(per, 1)} |")
    return lines


def render(d: RunData, method: str) -> str:
    out = ["# tlsgate benchmark results", "",
           f"Written by `{d.params['command']}` on {d.params['date']} "
           f"({d.params['mode']}, {d.params['reps']} repetitions, "
           f"{d.params['duration']} s per figure after a {d.params['warmup']} s warm-up). "
           "Every figure and ratio below comes from this one run; cells are the median "
           "(min–max) over the repetitions, ratios are ratios of medians.", ""]
    out += ["## Machine", ""] + [f"- {k}: {v}" for k, v in d.machine.items()] + [""]
    out += ["## Versions", ""] + [f"- {k}: {v}" for k, v in d.versions.items()] + [""]
    if d.notes:
        out += ["## Notes on this run", ""] + [f"- {n}" for n in d.notes] + [""]
    out += ["## Targets", "", "| target | measured | goal | |", "|---|---|---|---|"]
    for t in targets(d):
        measured = "n/a" if t.measured is None else f"{t.measured:.2f}"
        out.append(f"| {t.what} | {measured} | {'≤' if t.at_most else '≥'} {t.goal} | "
                   f"{t.met()} |")
    out += ["", "## Bypass against plain forwarding", "",
            "Plain forwarding: the same namespaces and nginx with no tlsgate. Kernel bypass: "
            "a `dst` rule, decided on the SYN by the TC program; the flow never leaves the "
            "kernel. Terminator bypass: an `sni` + `dst` rule (not compilable for the "
            "kernel), so every flow is steered to the terminator, which reads the "
            "ClientHello, connects upstream and hands both sockets to sockmap.", ""]
    out += _bypass_table(d)
    out += ["", "## Inspection", "",
            "Direct: the client talks to nginx through plain forwarding (the reference: an "
            "inspecting proxy does two handshakes per connection on the same two cores, so "
            "half the direct rate is the bound).", ""]
    out += _inspection_table(d)
    out += ["", "### CPU time of the proxy process per connection / per byte", "",
            "utime + stime of the proxy's processes (all threads) over the measurement "
            "window, divided by the connections or bytes of that window.", ""]
    out += _cpu_table(d)
    out += ["", "## Memory: RSS per idle inspected connection", ""]
    out += _memory_table(d)
    out += ["", "## BPF classifier, cost per packet", "", "```", d.bpf_text.rstrip(), "```", ""]
    failures = {k: sum(s.failed for s in v) for k, v in d.samples.items()}
    failures = {k: v for k, v in failures.items() if v}
    if failures:
        out += ["## Failed connections during the measurements", ""]
        for k, v in sorted(failures.items()):
            errors: dict[str, int] = {}
            for s in d.samples[k]:
                for e, n in s.errors.items():
                    errors[e] = errors.get(e, 0) + n
            out.append(f"- {k}: {v} ({'; '.join(f'{e}: {n}' for e, n in errors.items())})")
        out.append("")
    out += ["## How each figure was obtained", "", method.rstrip(), "",
            "Load commands (client namespace; `--warmup` and `--duration` as above; "
            f"handshake figures use {HANDSHAKE_CONCURRENCY} connections in flight):", ""]
    out += [f"- `{k}`: `{v}`" for k, v in sorted(d.commands.items())]
    return "\n".join(out) + "\n"
