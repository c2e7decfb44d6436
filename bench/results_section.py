"""Helpers of the standalone bench scripts (http1_layer_vs_relay.py,
icap_vs_squid.py): the binaries of a Release build, and their own section
of bench/RESULTS.md, replaced in place on every run."""

from __future__ import annotations

import os
import pathlib

# Where a build directory keeps each binary the scripts may need.
BINARIES = {"tlsgated": "userspace/daemon/tlsgated", "tlsgatectl": "userspace/ctl/tlsgatectl",
            "load": "bench/bench_tls_load", "leaves": "bench/bench_leaf_batch"}


def build_binaries(build: pathlib.Path, names=tuple(BINARIES)) -> dict[str, str]:
    """Absolute paths of `names` in `build`; exits when one is not built."""
    build = build.resolve()
    found = {name: build / BINARIES[name] for name in names}
    for path in found.values():
        if not os.access(path, os.X_OK):
            raise SystemExit(f"bench: {path} is not built")
    return {k: str(v) for k, v in found.items()}


def write_section(results: pathlib.Path, section: str, text: str) -> None:
    """Replaces the `section` heading and its text in `results` with `text`
    (appended when the section is new)."""
    old = results.read_text() if results.exists() else "# tlsgate benchmark results\n"
    start = old.find(section)
    if start >= 0:
        end = old.find("\n## ", start + len(section))
        old = old[:start] + (old[end + 1:] if end >= 0 else "")
    results.write_text(old.rstrip("\n") + "\n\n" + text)
