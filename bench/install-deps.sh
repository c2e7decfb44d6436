#!/usr/bin/env bash
# The benchmark's own packages (bench/run.sh calls this): the peers and the
# load tools. Not part of scripts/install-deps.sh: the test run stays lean.
set -euo pipefail

packages=(
  sslsplit        # peer: SSLsplit 0.5.5
  mitmproxy       # peer: mitmproxy (mitmdump, transparent mode)
  nghttp2-client  # h2load
  wrk
  linux-perf      # profiles when a figure falls short (optional for the run)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "bench/install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "bench/install-deps: all ${#packages[@]} packages present"
fi

# The packages may ship services: the bench starts its own instances only.
for unit in sslsplit mitmproxy; do
  if systemctl is-enabled "$unit" >/dev/null 2>&1; then
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  fi
done
