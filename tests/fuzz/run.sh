#!/usr/bin/env bash
# Fuzzes one target with libFuzzer (clang, ASan+UBSan), starting from and
# adding to its corpus: ./tests/fuzz/run.sh <client_hello|record_reader|config|http1> [seconds]
# Crashes are written to tests/fuzz/crashes/; add them to the corpus once fixed
# so that ctest replays them forever.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:?usage: run.sh <client_hello|record_reader|config|http1> [seconds]}
seconds=${2:-60}
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTLSGATE_SANITIZE=ON -DTLSGATE_FUZZ=ON >/dev/null
ninja -C "$build" "fuzz_$target"
mkdir -p tests/fuzz/crashes "$build/corpus/$target"
# New inputs go to the build's corpus; the repository keeps the small seed set.
"$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -artifact_prefix=tests/fuzz/crashes/ \
  "$build/corpus/$target" "tests/fuzz/corpus/$target"
