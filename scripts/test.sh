#!/usr/bin/env bash
# `npm test`: every check the project has, in order of cost. Installs what is
# missing first, so it works on a fresh clone. Ends with one summary line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/ensure-tools.sh
CONSUL_BIN=$(scripts/ensure-consul.sh)
export CONSUL_BIN

results=.test-results
rm -rf "$results" && mkdir -p "$results"
step() { printf '\n==> %s\n' "$*"; }

step "typecheck (tsc --noEmit)"
npx tsc --noEmit

step "lint (eslint, shellcheck, yamllint, ansible-lint)"
npx eslint .
git ls-files -z --cached --others --exclude-standard -- '*.sh' '*.bats' '*.bash' .ci/run | xargs -0 shellcheck -x
yamllint --strict .
(cd ansible && ANSIBLE_CONFIG=ansible.cfg ansible-lint --offline site.yml deploy.yml validate-topology.yml secrets.yml known-hosts.yml rotate-gossip-key.yml deploy roles)

step "vitest: unit + integration against a real 3-server Consul"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results/vitest.json"

step "bats: CLIs"
bats --print-output-on-failure --formatter tap tests/bats | tee "$results/bats.tap"

# Last and alone: it brings up 8 systemd containers on this machine.
step "lab: the whole topology on host containers, provisioned by ansible/site.yml"
scripts/ensure-docker.sh
bats --print-output-on-failure --formatter tap tests/lab/lab.bats tests/lab/deploy.bats | tee "$results/lab.tap"

# After the lab is down: 7 VMs under emulation take every core of a small machine.
scripts/test-vagrant.sh

passed=$(jq '.numPassedTests' "$results/vitest.json")
failed=$(jq '.numFailedTests' "$results/vitest.json")
for tap in "$results"/*.tap; do
  passed=$((passed + $(grep -c '^ok ' "$tap" || true)))
  failed=$((failed + $(grep -c '^not ok ' "$tap" || true)))
done
printf '\n%s passed, %s failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
