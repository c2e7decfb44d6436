#!/usr/bin/env bash
# tlsgate end to end, on one machine, as root: ./scripts/demo.sh
#
# Installs the dependencies, builds tlsgated and tlsgatectl (release, build/),
# brings up the lab (client / router / server network namespaces, nginx with
# one site per case, tests/lab/), runs tlsgated in the router namespace and
# shows from the client what each kind of site looks like through it. The lab
# is torn down on every exit path. Exit status 0 only if every expected
# outcome happened.
#
# Environment: LAB_ID (default tgdemo), BUILD_DIR (default <repo>/build),
# SKIP_DEPS=1 / SKIP_BUILD=1 to reuse what is there.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lab_id=${LAB_ID:-tgdemo}
build_dir=${BUILD_DIR:-$repo/build}
python=/usr/bin/python3
lab_py=$repo/tests/lab/lab.py
failures=0

section() { printf '\n=== %s\n' "$*"; }
outcome() {  # outcome <ok|fail> <text>
  if [[ $1 == ok ]]; then
    printf '  [ok]   %s\n' "$2"
  else
    printf '  [FAIL] %s\n' "$2"
    failures=$((failures + 1))
  fi
}

if [[ $EUID -ne 0 ]]; then
  echo "demo: run as root (network namespaces, BPF): $0" >&2
  exit 1
fi

# --- dependencies and build -------------------------------------------------------
if [[ -z ${SKIP_DEPS:-} ]]; then
  section "Dependencies"
  "$repo/scripts/install-deps.sh"
fi

# Build as the owner of the checkout, so build/ does not end up root-owned.
owner=$(stat -c %U "$repo")
as_owner() {
  if [[ $owner != root ]]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}
if [[ -z ${SKIP_BUILD:-} ]]; then
  section "Build (Release, $build_dir)"
  as_owner cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DTLSGATE_TESTS=OFF >/dev/null
  as_owner ninja -C "$build_dir" tlsgated tlsgatectl
fi
find_binary() {
  find "$build_dir" -type f -name "$1" -perm -u+x -not -path '*/CMakeFiles/*' | head -n 1
}
TLSGATED=$(find_binary tlsgated)
TLSGATECTL=$(find_binary tlsgatectl)
if [[ -z $TLSGATED || -z $TLSGATECTL ]]; then
  echo "demo: tlsgated / tlsgatectl not found under $build_dir" >&2
  exit 1
fi
export TLSGATED TLSGATECTL

# --- lab ----------------------------------------------------------------------------
lab_dir=$(mktemp -d "/tmp/tlsgate-demo-$lab_id.XXXXXX")
teardown() {
  local status=$?
  trap - EXIT INT TERM HUP
  section "Teardown"
  if "$python" "$lab_py" down "$lab_id" "$lab_dir"; then
    echo "  namespaces, processes, BPF pins and $lab_dir removed"
  else
    status=1
  fi
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM HUP

section "Lab $lab_id (tlsgated in the router namespace)"
"$python" "$lab_py" up "$lab_id" "$lab_dir" --gateway --av
# shellcheck source=/dev/null
source "$lab_dir/lab.env"

in_client() { nsenter --net="/run/netns/$LAB_CLIENT_NS" -- "$@"; }

# leaf <site> <address>: "subject | issuer | sha256" of the leaf the client is served.
leaf() {
  in_client openssl s_client -connect "$2:443" -servername "$1" </dev/null 2>/dev/null |
    openssl x509 -noout -subject -issuer -fingerprint -sha256 -nameopt oneline 2>/dev/null |
    sed -e 's/^subject=//' -e 's/^issuer=//' -e 's/^sha256 Fingerprint=//' | paste -sd'|'
}
# fetch <site> <address> <cacert>: curl's body, or its error; status in $fetch_status.
fetch() {
  fetch_status=0
  fetch_output=$(in_client curl -sS --max-time 10 --cacert "$3" \
    --resolve "$1:443:$2" "https://$1/" 2>&1) || fetch_status=$?
}
nginx_leaf_sha256() {
  openssl x509 -noout -fingerprint -sha256 -in "$lab_dir/pki/${1//./_}.pem" | sed 's/.*=//'
}
show_leaf() {  # show_leaf <subject|issuer|sha256>
  IFS='|' read -r subject issuer sha <<<"$1"
  printf '  leaf    %s\n  issuer  %s\n  sha256  %s\n' "$subject" "$issuer" "${sha:0:29}..."
}

section "Inspected: good.lab.test ($SITE_GOOD_LAB_TEST_V4)"
seen=$(leaf good.lab.test "$SITE_GOOD_LAB_TEST_V4")
show_leaf "$seen"
fetch good.lab.test "$SITE_GOOD_LAB_TEST_V4" "$LAB_GATEWAY_ROOT_CA"
printf '  curl (trusting only the gateway root): %s\n' "$fetch_output"
[[ $(cut -d'|' -f2 <<<"$seen") == *"CN = tlsgate"* ]] && r=ok || r=fail
outcome "$r" "issued by the gateway CA"
[[ $fetch_status == 0 && $fetch_output == "site=good.lab.test" ]] && r=ok || r=fail
outcome "$r" "request reached the server through the gateway"

section "Bypassed: bypass.lab.test ($SITE_BYPASS_LAB_TEST_V4)"
seen=$(leaf bypass.lab.test "$SITE_BYPASS_LAB_TEST_V4")
show_leaf "$seen"
fetch bypass.lab.test "$SITE_BYPASS_LAB_TEST_V4" "$LAB_ROOT_CA"
printf '  curl (trusting only the lab root): %s\n' "$fetch_output"
[[ $(cut -d'|' -f3 <<<"$seen") == "$(nginx_leaf_sha256 bypass.lab.test)" ]] && r=ok || r=fail
outcome "$r" "the server's own certificate, untouched"
[[ $fetch_status == 0 && $fetch_output == "site=bypass.lab.test" ]] && r=ok || r=fail
outcome "$r" "request reached the server"

section "Expired upstream certificate: expired.lab.test ($SITE_EXPIRED_LAB_TEST_V4)"
# The gateway completes the client's handshake only to show its block page.
page=$(in_client curl -sS --max-time 10 --cacert "$LAB_GATEWAY_ROOT_CA" \
  --resolve "expired.lab.test:443:$SITE_EXPIRED_LAB_TEST_V4" -w '\n%{http_code}' \
  https://expired.lab.test/ 2>&1) || true
status=${page##*$'\n'}
title=$(grep -o '<title>[^<]*</title>' <<<"$page" | sed 's/<[^>]*>//g')
reason=$(grep -o 'Reason code: [a-z_]*' <<<"$page")
printf '  curl: HTTP %s, page "%s", %s\n' "$status" "$title" "$reason"
[[ $status == 403 && $reason == "Reason code: expired" ]] && r=ok || r=fail
outcome "$r" "block page from the gateway naming the host and the reason"
[[ ! -s $SITE_EXPIRED_LAB_TEST_ACCESS_LOG ]] && r=ok || r=fail
outcome "$r" "no request reached the server"

section "Blocked by rule: blocked.lab.test ($SITE_BLOCKED_LAB_TEST_V4)"
fetch blocked.lab.test "$SITE_BLOCKED_LAB_TEST_V4" "$LAB_CLIENT_BUNDLE"
printf '  curl: %s\n' "${fetch_output#curl: }"
[[ $fetch_status == 35 ]] && r=ok || r=fail
outcome "$r" "TLS handshake refused by the gateway (curl exit $fetch_status, want 35)"
[[ ! -s $SITE_BLOCKED_LAB_TEST_ACCESS_LOG ]] && r=ok || r=fail
outcome "$r" "no request reached the server"

section "Antivirus over ICAP: files.lab.test ($SITE_FILES_LAB_TEST_V4)"
# clamd + c-icap's virus_scan run in the router namespace (tests/lab/lab_av.py,
# a signature database made on the spot); tlsgated hands every download to
# it (RESPMOD) before the client gets a byte.
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf '%s' "$eicar" >"$SITE_FILES_LAB_TEST_DOCROOT/eicar.com"
head -c 1048576 /dev/urandom >"$SITE_FILES_LAB_TEST_DOCROOT/clean.bin"
# HTTP/1.1: over h2 a scanned body larger than the client's stream window
# stalls after the first 64 KiB (known; see tests/lab/test_icap_av.py).
av_get() {  # av_get <path> <output file>: "<status> <bytes>"
  in_client curl -sS --http1.1 --max-time 20 --cacert "$LAB_GATEWAY_ROOT_CA" \
    --resolve "files.lab.test:443:$SITE_FILES_LAB_TEST_V4" -o "$2" \
    -w '%{http_code} %{size_download}' "https://files.lab.test$1" 2>&1 || true
}
got=$(av_get /clean.bin "$lab_dir/clean.out")
printf '  clean.bin (1 MiB): HTTP %s bytes\n' "$got"
[[ $got == "200 1048576" ]] && cmp -s "$lab_dir/clean.out" "$SITE_FILES_LAB_TEST_DOCROOT/clean.bin" &&
  r=ok || r=fail
outcome "$r" "a clean file is scanned and arrives byte for byte"
got=$(av_get /eicar.com "$lab_dir/eicar.out")
threat=$(grep -o 'Lab\.Eicar\.[A-Za-z.]*' "$lab_dir/eicar.out" | head -n 1 || true)
title=$(grep -o '<title>[^<]*</title>' "$lab_dir/eicar.out" | sed 's/<[^>]*>//g' || true)
printf '  eicar.com: HTTP %s bytes, page "%s", threat %s\n' "$got" "$title" "${threat:--}"
[[ $got == 403* && -n $threat ]] && r=ok || r=fail
outcome "$r" "the EICAR test file is replaced by a block page naming the threat"
grep -qF 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' "$lab_dir/eicar.out" && r=fail || r=ok
outcome "$r" "not one byte of the infected file reached the client"

section "Event log ($LAB_EVENT_LOG)"
expected=("flow  inspect sni=good.lab.test" "flow  bypass  sni=bypass.lab.test"
  "flow  block   sni=blocked.lab.test" "flow  block   sni=expired.lab.test"
  "class=expired" '"url": "https://files.lab.test/eicar.com", "verdict": "infected"'
  '"url": "https://files.lab.test/clean.bin", "verdict": "clean"')
# Flow events are written when a flow ends: give the last ones a moment.
for _ in $(seq 50); do
  events=$("$python" "$lab_py" events "$lab_dir")
  missing=0
  for e in "${expected[@]}"; do grep -qF -- "$e" <<<"$events" || missing=1; done
  ((missing == 0)) && break
  sleep 0.1
done
sed 's/^/  /' <<<"$events"
for e in "${expected[@]}"; do
  grep -qF -- "$e" <<<"$events" && r=ok || r=fail
  outcome "$r" "event: $e"
done

section "Result"
if ((failures == 0)); then
  echo "  every expected outcome happened"
else
  echo "  $failures expected outcome(s) did not happen"
  exit 1
fi
