#!/usr/bin/env bash
# The soak (bench/soak.py): tlsgated (a Release build without sanitizers)
# under a steady mix of inspected and bypassed flows; RSS growth < 5 % and no
# descriptor growth after the warm-up. Writes bench/RESULTS-soak.md.
#   ./bench/soak.sh [--minutes 60] [--rate 10]     (as root)
# BENCH_BUILD_DIR: the build directory (default: build-bench).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${BENCH_BUILD_DIR:-$root/build-bench}"

if [[ $EUID -ne 0 ]]; then
  echo "soak: run as root (network namespaces, BPF)" >&2
  exit 77
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTLSGATE_SANITIZE=OFF \
  -DTLSGATE_TESTS=OFF >/dev/null
ninja -C "$build" tlsgated tlsgatectl
export TLSGATED="$build/userspace/daemon/tlsgated" TLSGATECTL="$build/userspace/ctl/tlsgatectl"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$here/soak.py" "$@"
