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

step "lint (eslint, shellcheck)"
npx eslint .
git ls-files -z --cached --others --exclude-standard -- '*.sh' '*.bats' .ci/run | xargs -0 shellcheck -x

step "vitest: unit + integration against a real 3-server Consul"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results/vitest.json"

step "bats: CLIs"
bats --print-output-on-failure --formatter tap tests/bats | tee "$results/bats.tap"

passed=$(( $(jq '.numPassedTests' "$results/vitest.json") + $(grep -c '^ok ' "$results/bats.tap") ))
failed=$(( $(jq '.numFailedTests' "$results/vitest.json") + $(grep -c '^not ok ' "$results/bats.tap" || true) ))
printf '\n%s passed, %s failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
