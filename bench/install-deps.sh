#!/usr/bin/env bash
# The benchmark's own packages (bench/run.sh calls this): the peers and the
# load tools. Not part of scripts/install-deps.sh: the test run stays lean.
set -euo pipefail

packages=(
  sslsplit        # peer: SSLsplit 0.5.5
  mitmproxy       # peer: mitmproxy (mitmdump, transparent mode)
  squid-openssl   # peer of the ICAP bench: Squid 5 ssl-bump (icap_vs_squid.py)
  nghttp2-client  # h2load
  wrk
  linux-perf      # profiles when a figure falls short (optional for the run)
)

# shellcheck source=scripts/apt-install-missing.sh
source "$(dirname "$0")/../scripts/apt-install-missing.sh"
apt_install_missing bench/install-deps "${packages[@]}"

# The packages may ship services: the bench starts its own instances only.
for unit in sslsplit mitmproxy squid; do
  if systemctl is-enabled "$unit" >/dev/null 2>&1; then
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  fi
done
