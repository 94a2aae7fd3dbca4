#!/usr/bin/env bash
# Installs what the project needs to build and test, idempotently, saying what
# it does: Debian packages (only those missing), npm dependencies (only when
# package-lock.json changed since the last install, see ensure-node-modules.sh)
# and the Consul binary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# command -> Debian package providing it
declare -A packages=(
  [bats]=bats [shellcheck]=shellcheck [jq]=jq [curl]=curl [go]=golang-go [git]=git
  [haproxy]=haproxy [socat]=socat [openssl]=openssl
  [ansible-playbook]=ansible [ansible-lint]=ansible-lint [yamllint]=yamllint
)
missing=()
for cmd in "${!packages[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${packages[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages present"
fi

scripts/ensure-node-modules.sh
log "npm dependencies up to date"

scripts/ensure-consul.sh >/dev/null
consul_version=$("$(scripts/ensure-consul.sh)" version)
log "${consul_version%%$'\n'*} ready"
