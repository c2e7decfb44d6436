# shellcheck shell=bash
# Sourced by scripts/install-deps.sh and bench/install-deps.sh:
#   apt_install_missing LABEL PACKAGE...
# installs the packages that are not installed yet (idempotent, quiet).
apt_install_missing() {
  local label=$1
  shift
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]})); then
    echo "$label: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "$label: all $# packages present"
  fi
}
