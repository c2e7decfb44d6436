#!/usr/bin/env bash
# The gateway: build tlsgate, package it (CPack), install the .deb, write the
# lab's configuration and enable the unit.
source /tlsgate/vagrant/provision/common.sh
install_packages ca-certificates python3 curl
"$SRC/scripts/install-deps.sh"
$LAB_VM network router

build=/root/tlsgate-build
cmake -S "$SRC" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTLSGATE_TESTS=OFF
ninja -C "$build"
rm -f "$build"/tlsgate_*.deb
(cd "$build" && cpack -G DEB)
apt-get install -y -qq "$(ls "$build"/tlsgate_*.deb)"

# The lab's roots, published by the server (certificates only, never keys).
curl -fsS --retry 10 --retry-connrefused "http://10.240.2.2:8081/trusted-roots.pem" \
  -o /etc/tlsgate/lab-roots.pem
$LAB_VM router-config /etc/tlsgate/lab-roots.pem > /etc/tlsgate/tlsgate.toml
chown root:tlsgate /etc/tlsgate/tlsgate.toml /etc/tlsgate/lab-roots.pem
chmod 0660 /etc/tlsgate/tlsgate.toml
chmod 0644 /etc/tlsgate/lab-roots.pem
tlsgated --check-config --config /etc/tlsgate/tlsgate.toml
systemctl enable tlsgate.service
systemctl restart tlsgate.service
systemctl is-active tlsgate.service
tlsgatectl status

# The gateway root for the client's checks, over the LAN (port 8080).
mkdir -p /run/tlsgate-lab-export
tlsgatectl ca export > /run/tlsgate-lab-export/gateway-root.pem
systemctl stop tlsgate-lab-export.service 2>/dev/null || true
systemd-run --unit tlsgate-lab-export --property RuntimeMaxSec=1d \
  python3 -m http.server 8080 --bind 10.240.1.1 --directory /run/tlsgate-lab-export
