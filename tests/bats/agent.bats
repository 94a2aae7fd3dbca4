#!/usr/bin/env bats
# The registration agent's CLI against a real Consul agent (a single-node dev
# agent on its own loopback address: enough for the local-agent API the CLI uses).

setup_file() {
  cd "$BATS_TEST_DIRNAME/../.." || return
  CONSUL_BIN=${CONSUL_BIN:-$(scripts/ensure-consul.sh)}
  # A random 127.78.R.1 so a leftover agent from an earlier run cannot answer.
  export CONSUL_IP="127.78.$((RANDOM % 250 + 1)).1"
  export BATS_CONSUL_DIR="$BATS_FILE_TMPDIR/consul"
  mkdir -p "$BATS_CONSUL_DIR"
  "$CONSUL_BIN" agent -dev -node bats -bind "$CONSUL_IP" -client "$CONSUL_IP" \
    -dns-port=-1 -grpc-port=-1 -serf-wan-port=-1 -log-level=warn \
    >"$BATS_CONSUL_DIR/consul.log" 2>&1 3>&- &
  echo $! >"$BATS_CONSUL_DIR/pid"
  for _ in $(seq 1 100); do
    curl -fs "http://$CONSUL_IP:8500/v1/status/leader" | grep -q 8300 && return 0
    sleep 0.1
  done
  echo "dev Consul did not start: $(cat "$BATS_CONSUL_DIR/consul.log")" >&2
  return 1
}

teardown_file() {
  kill "$(cat "$BATS_CONSUL_DIR/pid")" 2>/dev/null || true
}

setup() {
  cd "$BATS_TEST_DIRNAME/../.." || return
  export CONSUL_HTTP_ADDR="http://$CONSUL_IP:8500"
  export SERVICE_ID=cabify-bats-8080 ADVERTISE_ADDRESS=127.0.0.1 PORT=8080
}

# node --import tsx (not npx): signals then reach the CLI itself, not a wrapper.
agent() { node --import tsx service/src/agent/cli.ts "$@"; }
consul_get() { curl -fs "$CONSUL_HTTP_ADDR/v1/$1"; }

@test "register puts the instance in the local agent with its check and version" {
  run agent register
  [ "$status" -eq 0 ]
  [[ "$output" == *"registered cabify-bats-8080 (127.0.0.1:8080)"* ]]
  run jq -r '[.Service, .Address, .Port, .Meta.version] | join(" ")' <<<"$(consul_get agent/service/cabify-bats-8080)"
  [ "$output" = "cabify 127.0.0.1 8080 $(node -p 'require("./package.json").version')" ]
  run jq -r '.["cabify-bats-8080:readyz"] | [.Type, .Interval] | join(" ")' <<<"$(consul_get agent/checks)"
  [ "$output" = "http 1s" ]
}

@test "status shows the registration and exits 1 while the check is not passing" {
  agent register
  run agent status
  # Nothing listens on 127.0.0.1:8080 for this test, so the check is critical.
  [ "$status" -eq 1 ]
  [[ "$output" == *"service    cabify-bats-8080 (cabify) at 127.0.0.1:8080"* ]]
  [[ "$output" == *"maint      off"* ]]
  run agent status --json
  [ "$status" -eq 1 ]
  echo "$output" | node -e 'const s = JSON.parse(require("fs").readFileSync(0, "utf8")); if (!s.registered || s.healthy) process.exit(1)'
}

@test "maint on/off adds and removes Consul's maintenance check with the reason" {
  agent register
  run agent maint on --reason "bats drill"
  [ "$status" -eq 0 ]
  run jq -r '.["_service_maintenance:cabify-bats-8080"] | [.Status, .Notes] | join(" ")' <<<"$(consul_get agent/checks)"
  [ "$output" = "critical bats drill" ]
  run agent status
  [[ "$output" == *"maint      on"* ]]
  agent maint off
  run jq -r 'has("_service_maintenance:cabify-bats-8080")' <<<"$(consul_get agent/checks)"
  [ "$output" = "false" ]
}

@test "weight N re-registers with that weight; a bad weight is a usage error" {
  agent register
  run agent weight 3
  [ "$status" -eq 0 ]
  run jq -c .Weights <<<"$(consul_get agent/service/cabify-bats-8080)"
  [ "$output" = '{"Passing":3,"Warning":1}' ]
  run agent weight 0
  [ "$status" -eq 2 ]
  [[ "$output" == *"weight takes a whole number from 1 to 256"* ]]
}

@test "deregister removes it; status then exits 1 saying so" {
  agent register
  run agent deregister
  [ "$status" -eq 0 ]
  run agent status
  [ "$status" -eq 1 ]
  [[ "$output" == *"cabify-bats-8080: not registered"* ]]
}

@test "usage errors exit 2 with the usage text" {
  run agent
  [ "$status" -eq 2 ]
  [[ "$output" == *"a command is required"* ]]
  run agent frobnicate
  [ "$status" -eq 2 ]
  [[ "$output" == *'unknown command "frobnicate"'* ]]
  run agent maint sideways
  [ "$status" -eq 2 ]
  run agent --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"usage: npm run agent"* ]]
}

@test "bad configuration exits 2 naming the variable; unreachable Consul exits 1 naming the address" {
  PORT=70000 run agent status
  [ "$status" -eq 2 ]
  [[ "$output" == *'PORT is "70000"'* ]]
  CONSUL_HTTP_ADDR=http://127.0.0.1:1 run agent register
  [ "$status" -eq 1 ]
  [[ "$output" == *"cannot reach the Consul agent at http://127.0.0.1:1"* ]]
}

@test "run keeps the instance registered as a sidecar and deregisters on SIGTERM" {
  agent deregister
  # The command itself, not the agent() function: a backgrounded function is a
  # subshell that would take the signal instead of the CLI.
  node --import tsx service/src/agent/cli.ts run >"$BATS_TEST_TMPDIR/sidecar.log" 2>&1 3>&- &
  local pid=$!
  for _ in $(seq 1 50); do
    curl -fs "$CONSUL_HTTP_ADDR/v1/agent/service/cabify-bats-8080" >/dev/null && break
    sleep 0.2
  done
  run consul_get agent/service/cabify-bats-8080
  [ "$status" -eq 0 ]
  kill -TERM "$pid"
  local code=0
  wait "$pid" || code=$?
  [ "$code" -eq 0 ]
  run curl -s -o /dev/null -w '%{http_code}' "$CONSUL_HTTP_ADDR/v1/agent/service/cabify-bats-8080"
  [ "$output" = "404" ]
}
