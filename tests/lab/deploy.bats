#!/usr/bin/env bats
# ansible/deploy.yml against the suite's lab, each deploy under the drills'
# counted load (npm run deploy -- --load): every request to the VIP is
# counted, and the assertions are on those counts and on what each app host
# runs afterwards. Runs after lab.bats, in this order: rolling 0.1.0 -> 0.2.0,
# a release that never turns ready, the rollback to 0.1.0, blue/green to 0.2.0,
# site.yml after it, canary back to 0.1.0.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  cd "$BATS_TEST_DIRNAME/../.." || return
  export REPORTS=.test-results/deploys
  rm -rf "$REPORTS"
  # Two releases beside the checkout's own 0.1.0, built the way a user's are:
  # this source as 0.2.0, and this source with a bug as 0.3.0-never-ready.
  local log="$BATS_FILE_TMPDIR/releases.log"
  if ! { scripts/build-images.sh --version 0.2.0 \
    && scripts/build-images.sh --version 0.3.0-never-ready --patch tests/releases/never-ready.patch; } >"$log" 2>&1; then
    tail -n 40 "$log" >&3
    return 1
  fi
}

# deploy VERSION STRATEGY [ARGS...]: npm run deploy under load; $report is its JSON.
deploy() {
  report="$REPORTS/$2-$1.json"
  run npx --no-install tsx tools/deploy/cli.ts "$1" --strategy "$2" --topology "$TOPOLOGY" --load --report "$REPORTS" "${@:3}"
  grep '^\[deploy\]' <<<"$output" >&3 || true
}

# field JQ: a value from the last deploy's report.
field() { jq -r "$1" "$report"; }

# What app host N's cabify container runs: image, port (from its environment), start time.
image_on() { docker exec "$CLUSTER-app-$1" docker inspect --format '{{.Config.Image}}' cabify; }
port_on() { docker exec "$CLUSTER-app-$1" docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' cabify | sed -n 's/^PORT=//p'; }
started_on() { docker exec "$CLUSTER-app-$1" docker inspect --format '{{.State.StartedAt}}' cabify; }
recorded_on() { docker exec "$CLUSTER-app-$1" cat /etc/ansible/facts.d/cabify.fact | jq -r '"\(.version) \(.port)"'; }

# every_host_runs VERSION PORT: the container, the recorded fact and Consul agree on every app host.
every_host_runs() {
  for n in 1 2 3; do
    [ "$(image_on "$n")" = "cabify:$1" ] || { echo "app-$n runs $(image_on "$n")"; return 1; }
    [ "$(port_on "$n")" = "$2" ] || { echo "app-$n listens on $(port_on "$n")"; return 1; }
    [ "$(recorded_on "$n")" = "$1 $2" ] || { echo "app-$n recorded $(recorded_on "$n")"; return 1; }
    [ "$(docker exec "$CLUSTER-app-$n" docker ps -q | wc -l)" -eq 1 ] || { echo "app-$n runs more than one container"; return 1; }
  done
}

no_request_failed() {
  echo "$(field .load.sent) sent, $(field .load.failed) failed $(field -c .load.failures), keep-alive $(field .keepAlive.failed) failed"
  [ "$(field .load.sent)" -gt 1000 ]
  [ "$(field .load.failed)" -eq 0 ]
  [ "$(field .keepAlive.failed)" -eq 0 ]
}

@test "rolling deploy 0.1.0 -> 0.2.0 under load: 0 failed, every host on 0.2.0, both versions answered on the way" {
  every_host_runs 0.1.0 8080
  deploy 0.2.0 rolling
  [ "$status" -eq 0 ]
  no_request_failed
  every_host_runs 0.2.0 8080
  [ "$(field '.versions | to_entries | map(.value) | unique | join(",")')" = 0.2.0 ]
  [ "$(field '.load.perVersion["0.1.0"]')" -gt 0 ]
  [ "$(field '.load.perVersion["0.2.0"]')" -gt 0 ]
  # One host at a time (deploy.batch_size 1): each drained only after the one before started again.
  [ "$(field '[.steps[] | select(.step == "drain") | .host] | join(",")')" = app-1,app-2,app-3 ]
  [ -s "$REPORTS/rolling-0.2.0.svg" ]
}

@test "npm run lab -- status shows the version of each backend on both LBs" {
  run npx --no-install tsx tools/lab/cli.ts status --topology "$TOPOLOGY"
  [ "$status" -eq 0 ]
  [ "$(grep -cE '^lb-[12] +app[0-9]+ +10\.78\.0\.3[123]:8080 +UP +[0-9]+ +0\.2\.0$' <<<"$output")" -eq 6 ]
}

@test "a release that never turns ready stops the deploy at the first batch, which goes back to 0.2.0; 0 failed; the others untouched" {
  local app2 app3
  app2=$(started_on 2) app3=$(started_on 3)
  deploy 0.3.0-never-ready rolling --ready-timeout 20
  [ "$status" -eq 2 ]
  no_request_failed
  [[ "$(field .summary)" == "deploy 0.3.0-never-ready (rolling) ABORTED at app-1 "* ]]
  [ "$(field '.steps | map("\(.host) \(.step)") | join(",")')" = "app-1 drain,app-1 container started,app-1 container started,app-1 drain ended" ]
  every_host_runs 0.2.0 8080
  [ "$(started_on 2)" = "$app2" ]
  [ "$(started_on 3)" = "$app3" ]
  # The bad release answered nothing: it never passed a check.
  [ "$(field '.load.perVersion["0.3.0-never-ready"] // 0')" -eq 0 ]
}

@test "rollback 0.2.0 -> 0.1.0 is a deploy of the previous version: 0 failed" {
  deploy 0.1.0 rolling
  [ "$status" -eq 0 ]
  no_request_failed
  every_host_runs 0.1.0 8080
}

@test "blue/green 0.1.0 -> 0.2.0: 0 failed; each host's new instance served beside the old one on the other port" {
  deploy 0.2.0 bluegreen
  [ "$status" -eq 0 ]
  no_request_failed
  every_host_runs 0.2.0 8081
  # On each host the new container started before the old one was drained.
  [ "$(field '[.steps[] | select(.host == "app-1") | .step] | join(",")')" = "container started,drain old,old stopped" ]
}

@test "site.yml after a deploy changes nothing: no host rolls back to the topology's 0.1.0 or its port" {
  site_changes_nothing
  every_host_runs 0.2.0 8081
}

@test "canary 0.2.0 -> 0.1.0: 0 failed; the canary alone at a low weight first, then the rest; every host on 0.1.0" {
  deploy 0.1.0 canary
  [ "$status" -eq 0 ]
  no_request_failed
  every_host_runs 0.1.0 8081
  [ "$(field '.steps | map("\(.host) \(.step)") | join(",")')" = "app-1 drain,app-1 container started,app-1 canary weight,app-1 canary promoted,app-2 drain,app-2 container started,app-3 drain,app-3 container started" ]
}
