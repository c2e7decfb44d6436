#!/usr/bin/env bash
# The client: the end-to-end checks of the lab demo (inspected, bypassed,
# blocked by rule, blocked for an expired upstream) through the router.
source /tlsgate/vagrant/provision/common.sh
install_packages curl openssl python3 iproute2
$LAB_VM network client
$LAB_VM check
