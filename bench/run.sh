#!/usr/bin/env bash
# tlsgate benchmarks: builds the lab and measures everything in one run,
# writing bench/RESULTS.md (--quick: bench/RESULTS-quick.md; see bench/README.md).
#   ./bench/run.sh [--quick] [bench.py options...]   (as root)
# BENCH_BUILD_DIR: the build directory (default: build-bench, a Release
# build without sanitizers).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${BENCH_BUILD_DIR:-$root/build-bench}"

if [[ $EUID -ne 0 ]]; then
  echo "bench: run as root (network namespaces, BPF): $0 $*" >&2
  exit 77
fi

"$root/scripts/install-deps.sh"
"$here/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTLSGATE_SANITIZE=OFF \
  -DTLSGATE_TESTS=OFF >/dev/null
ninja -C "$build" tlsgated tlsgatectl bench_tls_load bench_leaf_batch bench_bpf_classifier bench_threat_lists

command="./bench/run.sh${*:+ $*}"
exec /usr/bin/python3 "$here/bench.py" --build "$build" --command "$command" "$@"
