"""What the bench measures: one Measurement per (block, figure). A block is
what runs in the router namespace meanwhile: nothing (direct: the client
talks to nginx through plain forwarding), tlsgate, SSLsplit or mitmproxy."""

from __future__ import annotations

import dataclasses
import pathlib

from bench_lab import (CACHE_V4, INSPECT_NAME, INSPECT_V4, KERNEL_BYPASS_NAME, KERNEL_BYPASS_V4,
                       SNI_BYPASS_NAME, SNI_BYPASS_V4)
from bench_measure import LoadSpec

BLOCKS = ("direct", "tlsgate", "sslsplit", "mitmproxy")
PROXIES = BLOCKS[1:]
HANDSHAKE_CONCURRENCY = 32
# First-byte figures: one connection at a time, so the time measured is the
# path's, not a queue behind 31 other handshakes.
FIRST_BYTE_CONCURRENCY = 1
MANY_FLOWS = 8


@dataclasses.dataclass(frozen=True)
class Measurement:
    block: str
    figure: str  # e.g. "hs13_miss"
    spec: LoadSpec
    fresh_proxy: bool = False  # restarted first: an empty forged-certificate cache

    @property
    def key(self) -> str:
        return f"{self.block}.{self.figure}"


# figure -> (title, unit). Handshake figures are new connections per second:
# full handshake, one GET (3-byte body), close.
FIGURES = {
    "hs12": ("TLS 1.2 handshakes/s (server resumes sessions)", "conn/s"),
    "hs13": ("TLS 1.3 handshakes/s (server resumes sessions)", "conn/s"),
    "hs12_hit": ("TLS 1.2 handshakes/s, no resumption, forged-cert cache hit", "conn/s"),
    "hs13_hit": ("TLS 1.3 handshakes/s, no resumption, forged-cert cache hit", "conn/s"),
    "hs12_miss": ("TLS 1.2 handshakes/s, no resumption, forged-cert cache miss", "conn/s"),
    "hs13_miss": ("TLS 1.3 handshakes/s, no resumption, forged-cert cache miss", "conn/s"),
    "res12": ("TLS 1.2 handshakes/s, client resumes (server resumes sessions)", "conn/s"),
    "res13": ("TLS 1.3 handshakes/s, client resumes (server resumes sessions)", "conn/s"),
    "fb13_nagle": ("TLS 1.3 new connections one at a time, Nagle client", "conn/s"),
    "fb13_nodelay": ("TLS 1.3 new connections one at a time, TCP_NODELAY client", "conn/s"),
    "fb12_nagle": ("TLS 1.2 new connections one at a time, Nagle client", "conn/s"),
    "bulk1": ("bulk throughput, 1 flow (TLS 1.3)", "MB/s"),
    "bulk8": (f"bulk throughput, {MANY_FLOWS} flows (TLS 1.3)", "MB/s"),
    "kbypass_conn13": ("TLS 1.3 connections/s", "conn/s"),
    "kbypass_bulk1": ("bulk throughput, 1 flow", "MB/s"),
    "kbypass_bulk8": (f"bulk throughput, {MANY_FLOWS} flows", "MB/s"),
    "sbypass_conn13": ("TLS 1.3 connections/s", "conn/s"),
    "sbypass_bulk1": ("bulk throughput, 1 flow", "MB/s"),
    "sbypass_bulk8": (f"bulk throughput, {MANY_FLOWS} flows", "MB/s"),
}
HANDSHAKE_FIGURES = ("hs12", "hs13", "hs12_hit", "hs13_hit", "hs12_miss", "hs13_miss", "res12",
                     "res13", "fb13_nagle", "fb13_nodelay", "fb12_nagle")
# Figures whose time to the first response byte is reported (no resumption,
# server resumes sessions: the client's path as a browser's first visit).
FIRST_BYTE_FIGURES = ("fb13_nagle", "fb13_nodelay", "fb12_nagle")


def measurements(hit_file: pathlib.Path, miss_file: pathlib.Path, blocks=BLOCKS,
                 figures=None) -> list[Measurement]:
    """In run order: per block, the figures that keep the proxy, then those
    that need a fresh one."""
    out = []
    for block in blocks:
        def hs(tls: str, miss: bool) -> LoadSpec:
            return LoadSpec("connect", CACHE_V4, tls, names_file=miss_file if miss else hit_file,
                            names_once=miss, concurrency=HANDSHAKE_CONCURRENCY)

        def bulk(target: str, sni: str, flows: int) -> LoadSpec:
            return LoadSpec("bulk", target, "1.3", sni=sni, concurrency=flows,
                            threads=min(flows, 2), path="/bulk")

        def one_name(tls: str, resume: bool = False) -> LoadSpec:
            return LoadSpec("connect", INSPECT_V4, tls, sni=INSPECT_NAME,
                            concurrency=HANDSHAKE_CONCURRENCY, resume=resume)

        def first_byte(tls: str, nagle: bool) -> LoadSpec:
            return LoadSpec("connect", INSPECT_V4, tls, sni=INSPECT_NAME,
                            concurrency=FIRST_BYTE_CONCURRENCY, threads=1, nagle=nagle)

        out += [Measurement(block, "hs12", one_name("1.2")),
                Measurement(block, "hs13", one_name("1.3")),
                Measurement(block, "res12", one_name("1.2", resume=True)),
                Measurement(block, "res13", one_name("1.3", resume=True)),
                Measurement(block, "fb13_nagle", first_byte("1.3", True)),
                Measurement(block, "fb13_nodelay", first_byte("1.3", False)),
                Measurement(block, "fb12_nagle", first_byte("1.2", True)),
                Measurement(block, "hs12_hit", hs("1.2", False)),
                Measurement(block, "hs13_hit", hs("1.3", False)),
                Measurement(block, "bulk1", bulk(INSPECT_V4, INSPECT_NAME, 1)),
                Measurement(block, "bulk8", bulk(INSPECT_V4, INSPECT_NAME, MANY_FLOWS))]
        if block == "tlsgate":
            for prefix, target, sni in (("kbypass", KERNEL_BYPASS_V4, KERNEL_BYPASS_NAME),
                                        ("sbypass", SNI_BYPASS_V4, SNI_BYPASS_NAME)):
                out += [Measurement(block, f"{prefix}_conn13", LoadSpec(
                            "connect", target, "1.3", sni=sni,
                            concurrency=HANDSHAKE_CONCURRENCY)),
                        Measurement(block, f"{prefix}_bulk1", bulk(target, sni, 1)),
                        Measurement(block, f"{prefix}_bulk8", bulk(target, sni, MANY_FLOWS))]
        out += [Measurement(block, "hs12_miss", hs("1.2", True), fresh_proxy=block != "direct"),
                Measurement(block, "hs13_miss", hs("1.3", True), fresh_proxy=block != "direct")]
    if figures is not None:
        out = [m for m in out if m.figure in figures]
    return out


def run_order(plan: list[Measurement], rep: int) -> list[Measurement]:
    """Repetition `rep`'s order: the plan, backwards every other time."""
    return list(plan) if rep % 2 == 0 else list(reversed(plan))
