#!/usr/bin/env bash
# Fuzzes one target with libFuzzer (clang, ASan+UBSan; every library the
# target calls built with coverage), starting from its corpus in the tree, then
# minimizes that corpus (the named seeds, plus the fewest inputs that keep
# every edge this and earlier runs reached: -merge=1 -use_counters=0):
#   ./tests/fuzz/run.sh <client_hello|record_reader|config|http1|icap|nfqueue> [seconds]
# Ends with the run's row for tests/fuzz/RUNS.md (date, duration, execs, cov,
# ft from libFuzzer's final stats). Crashes are written to tests/fuzz/crashes/;
# add them to the corpus once fixed so that ctest replays them forever.
# TLSGATE_FUZZ_BUILD_DIR: the clang build (default build-fuzz).
# TLSGATE_FUZZ_SKIP_BUILD=1: use the binary already built there (runs in
# parallel must not build in one directory at the same time).
set -euo pipefail
cd "$(dirname "$0")/../.."
usage="usage: run.sh <client_hello|record_reader|config|http1|icap|nfqueue> [seconds]"
target=${1:?$usage}
seconds=${2:-60}
build=${TLSGATE_FUZZ_BUILD_DIR:-build-fuzz}
corpus=tests/fuzz/corpus/$target
[[ -d $corpus ]] || { echo "run.sh: no corpus $corpus ($usage)" >&2; exit 2; }

if [[ -z ${TLSGATE_FUZZ_SKIP_BUILD:-} ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTLSGATE_SANITIZE=ON -DTLSGATE_FUZZ=ON >/dev/null
  ninja -C "$build" "fuzz_$target"
fi
fuzzer=$build/tests/fuzz/fuzz_$target
work=$build/corpus/$target  # everything this and earlier runs found
mkdir -p tests/fuzz/crashes "$work"
log=$build/fuzz-$target.log
started=$(date -u '+%Y-%m-%d %H:%M UTC')

status=0
"$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix=tests/fuzz/crashes/ "$work" "$corpus" >"$log" 2>&1 || status=$?
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^==[0-9]+==ERROR|^SUMMARY|^stat::' "$log" || true
if ((status != 0)); then
  echo "run.sh: fuzz_$target failed (exit $status); log: $log" >&2
  exit "$status"
fi

before=$(find "$corpus" -type f | wc -l)
# The corpus in the tree: the named seeds, and the smallest set of inputs
# (named by their SHA-1, as libFuzzer names them) that keeps every edge seen.
min=$(mktemp -d)
"$fuzzer" -merge=1 -use_counters=0 "$min" "$corpus" "$work" >>"$log" 2>&1
find "$corpus" -type f -regextype posix-extended -regex '.*/[0-9a-f]{40}' -delete
seeds=$(find "$corpus" -type f -exec sha1sum {} + | cut -d' ' -f1)
for f in "$min"/*; do
  grep -qx "$(basename "$f")" <<<"$seeds" || cp "$f" "$corpus/"
done
rm -rf "$min"
after=$(find "$corpus" -type f | wc -l)

done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | head -1)  # the run's, not the merge's
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
seed_cov=$(grep -E '^#[0-9]+[[:space:]]+INITED' "$log" | head -1 | sed -E -n 's/.* cov: ([0-9]+).*/\1/p')
cov=$(sed -E -n 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")
ft=$(sed -E -n 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")
echo "| $started | fuzz_$target | ${seconds} s | $execs | $seed_cov | $cov | $ft |" \
  "$before → $after files ($(du -sk --apparent-size "$corpus" | cut -f1) KiB) |"
