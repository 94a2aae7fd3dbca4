#!/usr/bin/env bats
# shellcheck disable=SC2154 # $stderr is set by `run --separate-stderr`
# The README's `npm run` commands as a new user meets them: on a fresh clone,
# with no node_modules, each installs what it needs first; `npm start` hands
# SIGTERM to the service so it drains and exits instead of lingering.

bats_require_minimum_version 1.5.0

setup() {
  cd "$BATS_TEST_DIRNAME/../.." || return
}

@test "a fresh clone without node_modules runs npm run validate as its first command" {
  local clone="$BATS_TEST_TMPDIR/clone"
  # HEAD as committed: what a user would clone.
  git clone --quiet --no-hardlinks . "$clone"
  [ ! -e "$clone/node_modules" ]
  run --separate-stderr bash -c "cd '$clone' && npm run --silent validate -- configs/topology.yml"
  echo "$stderr"
  [ "$status" -eq 0 ]
  [[ "$output" == "configs/topology.yml: valid"* ]]
  # The install was visible, and left the stamp that makes the next run quick.
  [[ "$stderr" == *"[setup] installing npm dependencies"* ]]
  [ -f "$clone/node_modules/.package-lock.sha256" ]
  run --separate-stderr bash -c "cd '$clone' && npm run --silent validate -- configs/topology.yml"
  [ "$status" -eq 0 ]
  [[ "$stderr" != *"installing npm dependencies"* ]]
}

@test "npm start forwards SIGTERM: the service drains and exits 0, nothing is left listening" {
  local port=$((20000 + RANDOM % 20000)) log="$BATS_TEST_TMPDIR/start.log"
  CONSUL_REGISTER=false PORT=$port BIND_ADDRESS=127.0.0.1 ADVERTISE_ADDRESS=127.0.0.1 DRAIN_DELAY_SECONDS=0.2 \
    setsid npm start >"$log" 2>&1 3>&- &
  local npm_pid=$!
  local up=false
  for _ in $(seq 1 100); do
    if curl -fs -m 1 "http://127.0.0.1:$port/status" >/dev/null; then up=true; break; fi
    sleep 0.1
  done
  $up || { cat "$log"; kill -KILL -- "-$npm_pid"; false; }
  # Only npm's own PID gets the signal, as from a process manager or `kill`.
  kill -TERM "$npm_pid"
  local code=0
  timeout 10 tail --pid="$npm_pid" -f /dev/null || code=$?
  [ "$code" -eq 0 ] || { cat "$log"; kill -KILL -- "-$npm_pid"; false; }
  wait "$npm_pid" || code=$?
  cat "$log"
  [ "$code" -eq 0 ]
  grep -q '"msg":"drained; exiting".*"outcome":"clean"' "$log"
  run curl -s -m 1 "http://127.0.0.1:$port/status"
  [ "$status" -ne 0 ]
}
