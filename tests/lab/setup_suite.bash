# shellcheck shell=bash
# Brings the suite's lab up once for every file in tests/lab and takes it down
# at the end. The suite's lab is tests/lab/topology.yml (cabify-test,
# 10.78.0.0/24): a lab you left running under configs/topology.yml is not
# touched. KEEP_LAB=1 leaves it up.
setup_suite() {
  cd "$(dirname "${BASH_SOURCE[0]}")/../.." || return
  export TOPOLOGY=tests/lab/topology.yml
  export CLUSTER=cabify-test VIP=10.78.0.100 SECRETS=secrets/cabify-test CA=secrets/cabify-test/tls/ca.crt
  local log="$BATS_SUITE_TMPDIR/lab-up.log" started=$SECONDS
  if ! npx --no-install tsx tools/lab/cli.ts up --topology "$TOPOLOGY" >"$log" 2>&1 3>&-; then
    tail -n 80 "$log" >&3
    return 1
  fi
  echo "# lab up in $((SECONDS - started)) s" >&3
  grep -E '^\[lab\] (site.yml converged|all .* hosts booted)' "$log" | sed 's/^/# /' >&3
}

teardown_suite() {
  cd "$(dirname "${BASH_SOURCE[0]}")/../.." || return
  [ "${KEEP_LAB:-}" = 1 ] || npx --no-install tsx tools/lab/cli.ts down --topology "$TOPOLOGY" >&3 2>&1
}

