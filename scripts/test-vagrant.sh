#!/usr/bin/env bash
# `npm run test:vagrant`: the Vagrant end-to-end test (tests/vagrant), with
# everything it needs set up first: the tools, Docker (the box is built from
# the lab's images), vagrant + libvirt with their daemons, and the box (built
# or reused). It brings up 7 VMs under emulation, so nothing else should run
# beside it. `npm test` runs it last.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

results=.test-results
mkdir -p "$results/vagrant"
step() { printf '\n==> %s\n' "$*"; }

step "vagrant: tools, libvirt and the box"
scripts/ensure-tools.sh
scripts/ensure-docker.sh
scripts/ensure-vagrant.sh
started=$SECONDS
vagrant/box/build.sh
echo "box $((SECONDS - started))" >"$results/vagrant/box-seconds.txt"

step "vagrant: VMs from tests/vagrant/topology.yml, provisioned by ansible/site.yml over SSH"
status=0
bats --print-output-on-failure --formatter tap tests/vagrant | tee "$results/vagrant.tap" || status=$?
# The run's figures as a table (README.md beside them), whatever the outcome.
npx --no-install tsx tools/vagrant/report.ts "$results/vagrant"
[ "$status" -eq 0 ] && ! grep -q '^not ok ' "$results/vagrant.tap"
