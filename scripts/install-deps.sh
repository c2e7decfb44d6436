#!/usr/bin/env bash
# Installs every build, test and lab dependency of tlsgate on Debian 12.
# Idempotent: packages already present are not downloaded again.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config clang llvm lld
  libbpf-dev bpftool linux-libc-dev
  libssl-dev liburing-dev libnetfilter-queue-dev libmnl-dev libnfnetlink-dev
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libnghttp2-dev libsystemd-dev
  libgtest-dev libgmock-dev libclang-rt-14-dev
  # lab and tests
  iproute2 iptables nftables ethtool procps psmisc kmod
  nginx-light curl openssl gnutls-bin python3
  # HTTP layer, antivirus and bench peers: nghttp (h2 client), libcurl (CRL
  # fetcher), c-icap + clamd (ICAP antivirus, started by the tests), SSLsplit
  nghttp2-client libcurl4-openssl-dev
  # a real browser through the gateway (headless; the gateway CA trusted
  # through an NSS database made with certutil)
  chromium libnss3-tools
  c-icap libc-icap-mod-virus-scan clamav-daemon zip gzip sslsplit
  # decrypted capture read back (tests/lab/test_capture.py)
  tshark tcpdump
  # format check
  clang-format
  # service and packaging checks (tests/ops): systemd-analyze, sysusers,
  # tmpfiles; man; CPack's dpkg-shlibdeps; `vagrant validate`; logrotate;
  # the system bus for the lab's own systemd (tests/lab/lab_systemd.py)
  systemd man-db dpkg-dev vagrant logrotate dbus
)

# tshark's debconf question (non-root capture group): answered, never asked.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections

# shellcheck source=scripts/apt-install-missing.sh
source "$(dirname "$0")/apt-install-missing.sh"
apt_install_missing install-deps "${packages[@]}"

# The lab runs its own nginx instances; the distribution's service must not hold port 443.
if systemctl is-enabled nginx >/dev/null 2>&1; then
  systemctl disable --now nginx >/dev/null 2>&1 || true
fi
