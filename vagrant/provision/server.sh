#!/usr/bin/env bash
# The upstream side: the lab's PKI and nginx with every core site, as the lab
# brings them up in its server namespace (tests/lab/lab_pki.py, lab_nginx.py).
source /tlsgate/vagrant/provision/common.sh
install_packages nginx-light openssl python3 iproute2 curl
systemctl disable --now nginx >/dev/null 2>&1 || true  # the lab runs its own
$LAB_VM network server
$LAB_VM server /var/lib/tlsgate-lab
