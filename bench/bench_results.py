"""Statistics over the repetitions and bench/RESULTS.md."""

from __future__ import annotations

import dataclasses
import pathlib
import statistics

from bench_measure import MemorySample, Sample
from bench_scenarios import (FIGURES, FIRST_BYTE_FIGURES,
                             HANDSHAKE_CONCURRENCY, HANDSHAKE_FIGURES, MANY_FLOWS, PROXIES)


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
    samples: dict[str, dict[int, Sample]]  # figure key -> {repetition: sample}
    memory: dict[tuple[str, int], list[MemorySample]]
    bpf_text: str
    machine: dict[str, str]
    versions: dict[str, str]
    params: dict[str, str]
    commands: dict[str, str]  # figure key -> load command
    notes: list[str]
    failures: list[str] = dataclasses.field(default_factory=list)
    threat_text: str = ""  # bench_threat_lists' output

    def value(self, key: str) -> Stat | None:
        return stat(s.value for s in self.samples.get(key, {}).values())

    @staticmethod
    def _cpu_of(key: str, s: Sample) -> float | None:
        """Proxy CPU per connection (µs) or per byte (ns)."""
        scale = 1e6 if "conn" in FIGURES[key.split(".", 1)[1]][1] else 1e3
        return None if s.proxy_cpu_per_unit is None else s.proxy_cpu_per_unit * scale

    def cpu(self, key: str) -> Stat | None:
        return stat(self._cpu_of(key, s) for s in self.samples.get(key, {}).values())

    def ratio(self, a: str, b: str, cpu: bool = False) -> Stat | None:
        """a / b within each repetition (the two figures were measured close
        together), over the repetitions that have both."""
        sa, sb = self.samples.get(a, {}), self.samples.get(b, {})
        out = []
        for rep in sorted(set(sa) & set(sb)):
            x = self._cpu_of(a, sa[rep]) if cpu else sa[rep].value
            y = self._cpu_of(b, sb[rep]) if cpu else sb[rep].value
            if x is not None and y:
                out.append(x / y)
        return stat(out)

    def first_byte(self, key: str, which: str) -> Stat | None:
        """p50 or p99 (ms) of the time to the first response byte."""
        attr = "first_byte_p50_ms" if which == "p50" else "first_byte_p99_ms"
        return stat(getattr(s, attr) for s in self.samples.get(key, {}).values())

    def first_byte_gap(self, key: str, reference: str, which: str) -> Stat | None:
        """key's first-byte time minus reference's (ms), within each repetition."""
        attr = "first_byte_p50_ms" if which == "p50" else "first_byte_p99_ms"
        sa, sb = self.samples.get(key, {}), self.samples.get(reference, {})
        return stat(getattr(sa[r], attr) - getattr(sb[r], attr)
                    for r in sorted(set(sa) & set(sb))
                    if getattr(sa[r], attr) is not None and getattr(sb[r], attr) is not None)

    def measured(self, figure: str) -> bool:
        return any(k.split(".", 1)[1] == figure for k in self.samples)

    def failed(self, key: str) -> int:
        return sum(s.failed for s in self.samples.get(key, {}).values())


def fmt_ratio(r: Stat | None) -> str:
    if r is None:
        return "n/a"
    if r.n == 1:
        return f"{r.median:.2f}×"
    return f"{r.median:.2f}× ({r.low:.2f}–{r.high:.2f})"


def cell(s: Stat | None, digits: int = 0) -> str:
    return "n/a" if s is None else s.text(digits)


@dataclasses.dataclass
class Target:
    what: str
    measured: Stat | None
    goal: float
    at_most: bool = False  # goal is an upper bound

    def met(self) -> str:
        if self.measured is None:
            return "not measured"
        m = self.measured.median
        ok = m <= self.goal if self.at_most else m >= self.goal
        return "**met**" if ok else "**missed**"

    def measured_text(self) -> str:
        if self.measured is None:
            return "n/a"
        if self.measured.n == 1:
            return f"{self.measured.median:.2f}"
        return (f"{self.measured.median:.2f} ({self.measured.low:.2f}–"
                f"{self.measured.high:.2f})")


def targets(d: RunData) -> list[Target]:
    t = []
    for kind, label in (("kbypass", "kernel-decided bypass (dst rule)"),
                        ("sbypass", "terminator-decided bypass (SNI, sockmap)")):
        for fig, what in (("conn13", "connections/s"), ("bulk1", "1-flow throughput"),
                          (f"bulk{MANY_FLOWS}", f"{MANY_FLOWS}-flow throughput")):
            t.append(Target(f"{label}, {what} ≥ 0.97× plain forwarding",
                            d.ratio(f"tlsgate.{kind}_{fig}", f"direct.{PLAIN_OF[fig]}"), 0.97))
    for fig, how in (("hs12", "TLS 1.2"), ("hs13", "TLS 1.3"),
                     ("hs12_hit", "TLS 1.2, server without resumption, cache hit"),
                     ("hs13_hit", "TLS 1.3, server without resumption, cache hit"),
                     ("hs12_miss", "TLS 1.2, server without resumption, cache miss"),
                     ("hs13_miss", "TLS 1.3, server without resumption, cache miss")):
        t.append(Target(f"inspected handshakes ≥ 0.45× direct ({how})",
                        d.ratio(f"tlsgate.{fig}", f"direct.{fig}"), 0.45))
        t.append(Target(f"inspected handshakes ≥ 1.7× SSLsplit ({how})",
                        d.ratio(f"tlsgate.{fig}", f"sslsplit.{fig}"), 1.7))
    t.append(Target("1-flow inspected throughput ≥ 0.8× direct",
                    d.ratio("tlsgate.bulk1", "direct.bulk1"), 0.8))
    t.append(Target("1-flow inspected throughput ≥ 2× SSLsplit",
                    d.ratio("tlsgate.bulk1", "sslsplit.bulk1"), 2.0))
    for (proxy, n), samples in sorted(d.memory.items()):
        if proxy == "tlsgate":
            t.append(Target(f"RSS per idle inspected connection at {n} connections ≤ 32 KiB",
                            stat(s.kib_per_connection for s in samples), 32.0, at_most=True))
    for fig, how, goal in (("hs13_hit", "TLS 1.3, no resumption (cache hit)", 600.0),
                           ("hs12_hit", "TLS 1.2, no resumption (cache hit)", 600.0),
                           ("res13", "TLS 1.3, client and upstream resume", 350.0),
                           ("res12", "TLS 1.2, client and upstream resume", 350.0)):
        t.append(Target(f"tlsgate CPU per new inspected connection, {how} ≤ {goal:.0f} µs",
                        d.cpu(f"tlsgate.{fig}"), goal, at_most=True))
    for fig, how in (("fb13_nagle", "TLS 1.3, Nagle client"),
                     ("fb12_nagle", "TLS 1.2, Nagle client"),
                     ("fb13_nodelay", "TLS 1.3, TCP_NODELAY client")):
        t.append(Target(f"first response byte, p50, through tlsgate − direct ({how}) ≤ 2 ms",
                        d.first_byte_gap(f"tlsgate.{fig}", f"direct.{fig}", "p50"), 2.0,
                        at_most=True))
    for v in ("12", "13"):
        t.append(Target(f"TLS 1.{v[1]} cache miss ≤ 1.3× the cost of a hit (tlsgate CPU/conn)",
                        d.ratio(f"tlsgate.hs{v}_miss", f"tlsgate.hs{v}_hit", cpu=True), 1.3,
                        at_most=True))
    return t


# The plain-forwarding figure each bypass figure is compared with.
PLAIN_OF = {"conn13": "hs13", "bulk1": "bulk1", f"bulk{MANY_FLOWS}": f"bulk{MANY_FLOWS}"}


def _bypass_table(d: RunData) -> list[str]:
    lines = ["| figure | plain forwarding | kernel bypass | ratio | terminator bypass | ratio |",
             "|---|---|---|---|---|---|"]
    for fig in ("conn13", "bulk1", f"bulk{MANY_FLOWS}"):
        title, unit = FIGURES[f"kbypass_{fig}"]
        plain_key = f"direct.{PLAIN_OF[fig]}"
        k_key, s_key = f"tlsgate.kbypass_{fig}", f"tlsgate.sbypass_{fig}"
        lines.append(f"| {title} ({unit}) | {cell(d.value(plain_key))} | "
                     f"{cell(d.value(k_key))} | {fmt_ratio(d.ratio(k_key, plain_key))} | "
                     f"{cell(d.value(s_key))} | {fmt_ratio(d.ratio(s_key, plain_key))} |")
    return lines


def _inspection_table(d: RunData) -> list[str]:
    lines = ["| figure | direct | tlsgate | SSLsplit | mitmproxy | tlsgate/direct "
             "| tlsgate/SSLsplit | tlsgate/mitmproxy |", "|---|---|---|---|---|---|---|---|"]
    for fig in (*HANDSHAKE_FIGURES, "bulk1", f"bulk{MANY_FLOWS}"):
        if not d.measured(fig):
            continue
        title, unit = FIGURES[fig]
        v = {b: d.value(f"{b}.{fig}") for b in ("direct", *PROXIES)}
        lines.append(f"| {title} ({unit}) | " + " | ".join(cell(v[b]) for b in v) + " | "
                     + " | ".join(fmt_ratio(d.ratio(f"tlsgate.{fig}", f"{b}.{fig}"))
                                  for b in ("direct", "sslsplit", "mitmproxy")) + " |")
    return lines


def _cpu_table(d: RunData) -> list[str]:
    lines = ["| figure | tlsgate | SSLsplit | mitmproxy |", "|---|---|---|---|"]
    for fig in (*HANDSHAKE_FIGURES, "bulk1", f"bulk{MANY_FLOWS}"):
        if not d.measured(fig):
            continue
        title, unit = FIGURES[fig]
        per = "µs/conn" if unit == "conn/s" else "ns/byte"
        lines.append(f"| {title} ({per}) | "
                     + " | ".join(cell(d.cpu(f"{b}.{fig}"), 1 if per == "ns/byte" else 0)
                                  for b in PROXIES) + " |")
    for kind, label in (("kbypass", "kernel bypass"), ("sbypass", "terminator bypass")):
        if not d.measured(f"{kind}_conn13"):
            continue
        lines.append(f"| {label}, TLS 1.3 connections (µs/conn) | "
                     f"{cell(d.cpu(f'tlsgate.{kind}_conn13'), 1)} | – | – |")
    return lines


def _first_byte_table(d: RunData) -> list[str]:
    lines = ["| figure | direct p50 / p99 | tlsgate p50 / p99 | SSLsplit p50 / p99 "
             "| mitmproxy p50 / p99 | tlsgate − direct, p50 / p99 |", "|---|---|---|---|---|---|"]
    for fig in FIRST_BYTE_FIGURES:
        if not d.measured(fig):
            continue
        title, _ = FIGURES[fig]
        cells = [f"{cell(d.first_byte(f'{b}.{fig}', 'p50'), 2)} / "
                 f"{cell(d.first_byte(f'{b}.{fig}', 'p99'), 2)}" for b in ("direct", *PROXIES)]
        gap = (f"{cell(d.first_byte_gap(f'tlsgate.{fig}', f'direct.{fig}', 'p50'), 2)} / "
               f"{cell(d.first_byte_gap(f'tlsgate.{fig}', f'direct.{fig}', 'p99'), 2)}")
        lines.append(f"| {title} (ms) | " + " | ".join(cells) + f" | {gap} |")
    return lines


def _memory_table(d: RunData) -> list[str]:
    lines = ["| proxy | idle connections held | failed | RSS before (MiB) | RSS held (MiB) "
             "| KiB per connection | tlsgate/SSLsplit |", "|---|---|---|---|---|---|---|"]
    per_conn = {key: stat(s.kib_per_connection for s in samples)
                for key, samples in d.memory.items()}
    for (proxy, n), samples in sorted(d.memory.items()):
        before = stat(s.rss_before_kib / 1024 for s in samples)
        after = stat(s.rss_after_kib / 1024 for s in samples)
        held = stat(s.connections for s in samples)
        peer = per_conn.get(("sslsplit", n))
        versus = (f"{per_conn[(proxy, n)].median / peer.median:.2f}×"
                  if proxy == "tlsgate" and peer and peer.median > 0 else "")
        lines.append(f"| {proxy} | {held.median:.0f} (of {n}) | "
                     f"{sum(s.failed for s in samples)} | {cell(before, 1)} | {cell(after, 1)} | "
                     f"{cell(per_conn[(proxy, n)], 1)} | {versus} |")
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
    out += ["## Targets", "",
            "Measured: the median over the repetitions of the ratio within each repetition "
            "(min–max in brackets); for memory, KiB per connection.", "",
            "| target | measured | goal | |", "|---|---|---|---|"]
    for t in targets(d):
        if t.measured is None:
            continue  # a partial run (--figures): only what it measured
        out.append(f"| {t.what} | {t.measured_text()} | {'≤' if t.at_most else '≥'} {t.goal} | "
                   f"{t.met()} |")
    if d.measured("kbypass_conn13") or d.measured("sbypass_conn13"):
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
    if any(d.measured(f) for f in FIRST_BYTE_FIGURES):
        out += ["", "### Time to the first response byte", "",
                "New connections one at a time (no resumption; the server resumes sessions), "
                "`GET /` sent as soon as the handshake completed: milliseconds from the "
                "request's write to the first response byte read (p50 / p99 over the window's "
                "connections; cells: median (min–max) over the repetitions). A Nagle client "
                "holds its request until the gateway's last handshake flight is acknowledged "
                "(issue 17).", ""]
        out += _first_byte_table(d)
    out += ["", "### CPU time of the proxy process per connection / per byte", "",
            "utime + stime of the proxy's processes (all threads) over the measurement "
            "window, divided by the connections or bytes of that window.", ""]
    out += _cpu_table(d)
    if d.memory:
        out += ["", "## Memory: RSS per idle inspected connection", ""]
        out += _memory_table(d)
    out += ["", "## BPF classifier, cost per packet", "", "```", d.bpf_text.rstrip(), "```", ""]
    if d.threat_text:
        out += ["## Threat lists at 1,000,000 entries", "",
                "`bench_threat_lists`: a domains list of 1,000,000 random names loaded as "
                "tlsgated loads it; resident memory added per entry; one lookup as the "
                "terminator (SNI) and the threat filter (request host + URL) make it; the same "
                "names in a `std::unordered_set<std::string>` as the in-run baseline "
                "(goal: ≤ 64 bytes per entry, ≤ 1 µs per lookup).", "",
                "```", d.threat_text.rstrip(), "```", ""]
    if d.failures:
        out += ["## Measurements that failed (left out of the figures)", ""]
        out += [f"- {f}" for f in d.failures] + [""]
    failures = {k: sum(s.failed for s in v.values()) for k, v in d.samples.items()}
    failures = {k: v for k, v in failures.items() if v}
    if failures:
        out += ["## Failed connections during the measurements", ""]
        for k, v in sorted(failures.items()):
            errors: dict[str, int] = {}
            for s in d.samples[k].values():
                for e, n in s.errors.items():
                    errors[e] = errors.get(e, 0) + n
            out.append(f"- {k}: {v} ({'; '.join(f'{e}: {n}' for e, n in errors.items())})")
        out.append("")
    # The fault table, the soak and the handshake profile come from their own
    # runs (bench/FAULTS.md, bench/soak.sh, bench/profile_handshake.py):
    # carried over so that a new bench run keeps them.
    for extra in ("FAULTS.md", "RESULTS-soak.md", "PROFILE-handshake.md"):
        path = pathlib.Path(__file__).resolve().parent / extra
        if path.exists():
            text = path.read_text().rstrip()
            out += [text.replace("# Soak", "## Soak", 1) if extra != "FAULTS.md" else text, ""]
    out += ["## How each figure was obtained", "", method.rstrip(), "",
            "Load commands (client namespace; `--warmup` and `--duration` as above; "
            f"handshake figures use {HANDSHAKE_CONCURRENCY} connections in flight):", ""]
    out += [f"- `{k}`: `{v}`" for k, v in sorted(d.commands.items())]
    return "\n".join(out) + "\n"
