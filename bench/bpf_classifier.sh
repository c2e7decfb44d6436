#!/usr/bin/env bash
# The kernel ClientHello classifier's cost per ClientHello (bench/bpf_classifier.cc).
# Usage (as root): bench/bpf_classifier.sh [build-dir]   (default: build; a
# non-sanitized Release build gives the userspace column its real value)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
ninja -C "$build" bench_bpf_classifier >/dev/null
exec "$build/bench/bench_bpf_classifier"
