#!/usr/bin/env bash
# Installs dependencies, builds tlsgate with ASan+UBSan and runs every test
# (unit, kernel, lab) through ctest. Needs root: kernel and lab tests load BPF
# programs and create network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: run as root: kernel and lab tests need it" >&2
  exit 1
fi

./scripts/install-deps.sh
build=${TLSGATE_TEST_BUILD_DIR:-build-test}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTLSGATE_SANITIZE=ON >/dev/null
ninja -C "$build"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "$@"
