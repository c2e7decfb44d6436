# Sourced by the provisioning scripts: packages, and the lab's network roles
# (addresses, routes, forwarding) set up by lab_vm.py.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SRC=/tlsgate
LAB_VM="python3 $SRC/vagrant/provision/lab_vm.py"

install_packages() {
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@"
}
