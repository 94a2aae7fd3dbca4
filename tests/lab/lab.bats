#!/usr/bin/env bats
# The whole topology, provisioned by ansible/site.yml on systemd host
# containers, checked from outside as an operator would; then the drills and
# the bench. deploy.bats runs after this file (scripts/test.sh names both).

bats_require_minimum_version 1.5.0
load helpers

# The lab is brought up once for every file here, by setup_suite.bash.
setup_file() {
  cd "$BATS_TEST_DIRNAME/../.." || return
}

# The management token goes in on stdin, never on a command line.
consul_on() {
  docker exec -i "$CLUSTER-$1" sh -c "CONSUL_HTTP_TOKEN=\$(cat) consul $2" <"$SECRETS/consul-management.token"
}

haproxy_stat() {
  docker exec "$CLUSTER-$1" sh -c "echo 'show stat' | socat stdio /run/haproxy/admin.sock"
}

@test "the VIP answers /status from at least 2 different app hosts over 20 requests" {
  run npx --no-install tsx tools/lab/cli.ts curl 20 --topology "$TOPOLOGY"
  [ "$status" -eq 0 ]
  [ "$(grep -c '^OK from 10\.78\.0\.3[0-9]$' <<<"$output")" -eq 20 ]
  [ "$(sort -u <<<"$output" | wc -l)" -ge 2 ]
  # And from this machine, which reaches the internal network directly.
  run curl -s -m 2 "http://$VIP/status"
  [[ "$output" == "OK from 10.78.0.3"* ]]
}

@test "Consul: every host is an alive member; Raft has 3 voters and 1 leader" {
  run consul_on consul-1 members
  [ "$status" -eq 0 ]
  [ "$(grep -c ' alive ' <<<"$output")" -eq 8 ]
  [ "$(grep -cE ' (failed|left) ' <<<"$output")" -eq 0 ]
  run consul_on consul-2 "operator raft list-peers"
  [ "$status" -eq 0 ]
  [ "$(awk 'NR > 1 && $5 == "true"' <<<"$output" | wc -l)" -eq 3 ]
  [ "$(awk 'NR > 1 && $4 == "leader"' <<<"$output" | wc -l)" -eq 1 ]
}

@test "both load balancers list every app host UP" {
  for lb in lb-1 lb-2; do
    run haproxy_stat "$lb"
    [ "$status" -eq 0 ]
    for app in 31 32 33; do
      # pxname,svname,...: the be_cabify row whose addr is this app host, status UP.
      awk -F, -v addr="10.78.0.$app:8080" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
        $1 == "be_cabify" && $col["addr"] == addr && $col["status"] == "UP" { found = 1 }
        END { exit !found }' <<<"${output/\# /}"
    done
  done
}

@test "exactly one load balancer holds the VIP" {
  local holders=0
  for lb in lb-1 lb-2; do
    if docker exec "$CLUSTER-$lb" ip -4 -o addr show | grep -q " $VIP/"; then holders=$((holders + 1)); fi
  done
  [ "$holders" -eq 1 ]
}

@test "anonymous Consul requests can neither list nor register services" {
  run curl -s -m 2 "http://10.78.0.11:8500/v1/catalog/services"
  [ "$status" -eq 0 ]
  [[ "$output" != *cabify* ]]
  run curl -s -m 2 -o /dev/null -w '%{http_code}' -X PUT -d '{"Name":"intruder","Port":1}' "http://10.78.0.11:8500/v1/agent/service/register"
  [ "$output" = "403" ]
  # With the management token the same listing does show the service.
  run consul_on consul-1 "catalog services"
  [[ "$output" == *cabify* ]]
}

@test "the HAProxy stats page refuses no password and a wrong one, and opens with the generated one" {
  local url=http://10.78.0.21:8404/stats
  [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$url")" = 401 ]
  [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' -u admin:wrong "$url")" = 401 ]
  # The real password from a file (-K), never on a command line.
  [ "$(printf 'user = "admin:%s"\n' "$(cat "$SECRETS/haproxy-stats.password")" | curl -s -m 2 -o /dev/null -w '%{http_code}' -K - "$url")" = 200 ]
}

# Every secret site.yml generated for this lab (gossip key, ACL tokens, stats
# password): readable by its owner only, in no file git tracks, and nowhere in
# the log of the site.yml run that created and used them.
@test "generated secrets are 0600, in no file git tracks, and not in site.yml's log" {
  local file count=0
  [ "$(stat -c %a "$SECRETS")" = 700 ]
  git check-ignore -q "$SECRETS/consul-gossip.key"
  for file in "$SECRETS"/*; do
    count=$((count + 1))
    [ "$(stat -c %a "$file")" = 600 ]
    [ "$(wc -l <"$file")" -eq 1 ]
    if git grep -q -F -f "$file" -- .; then echo "${file##*/} is in a tracked file"; false; fi
    if grep -q -F -f "$file" "$BATS_SUITE_TMPDIR/lab-up.log"; then echo "${file##*/} is in site.yml's log"; false; fi
  done
  # Gossip key, stats password, 3 service tokens and one agent token for each of the 8 hosts.
  [ "$count" -ge 13 ]
}

# The cabify container is hardened (roles/cabify): each attempt below is an
# attacker's first step after taking over the service, and must fail.
@test "the cabify container: no write anywhere, no capability even as root, no privilege gain, memory and pids bounded" {
  local in_app=(docker exec "$CLUSTER-app-1" docker exec)
  # /tmp is world-writable in the image: only the read-only root stops this.
  run "${in_app[@]}" cabify sh -c 'echo x >/tmp/intruder'
  [ "$status" -ne 0 ]
  [[ "$output" == *"Read-only file system"* ]]
  run "${in_app[@]}" -u root cabify sh -c 'echo x >/etc/intruder'
  [ "$status" -ne 0 ]
  [[ "$output" == *"Read-only file system"* ]]
  # Root inside it holds no capability (effective and bounding sets empty),
  # and no process in it can gain privileges (setuid binaries do nothing).
  run "${in_app[@]}" -u root cabify grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status
  [ "$status" -eq 0 ]
  [ "$(grep -c $'^Cap\(Eff\|Bnd\):\t0000000000000000$' <<<"$output")" -eq 2 ]
  [[ "$output" == *$'NoNewPrivs:\t1'* ]]
  run docker exec "$CLUSTER-app-1" docker inspect --format '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}' cabify
  [ "$output" = "268435456 128" ]
}

@test "npm run lab -- status reports members, leader, VIP holder and backends" {
  run npx --no-install tsx tools/lab/cli.ts status --topology "$TOPOLOGY"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Consul: 8/8 members alive; leader consul-"*"; 3 voters"* ]]
  [[ "$output" =~ "VIP $VIP: held by lb-"[12]$'\n' ]]
  [ "$(grep -cE '^lb-[12] +app[0-9]+ +10\.78\.0\.3[123]:8080 +UP ' <<<"$output")" -eq 6 ]
}

@test "a second site.yml run changes nothing" {
  site_changes_nothing
}

# srv_admin_state (7th field of `show servers state`) of the slot holding ADDR.
admin_state() {
  docker exec "$CLUSTER-$1" sh -c "echo 'show servers state be_cabify' | socat stdio /run/haproxy/admin.sock" \
    | awk -v addr="$2" '$5 == addr { print $7 }'
}

# The operator's CLI, run in the service's container on its app host.
agent_on() {
  docker exec "$CLUSTER-$1" docker exec cabify node dist/service/src/agent/cli.js "${@:2}"
}

# Polls CMD (a shell function) every 50 ms until it succeeds or SECONDS pass.
wait_until() {
  local seconds=$1 t0=$SECONDS
  shift
  until "$@"; do
    [ $((SECONDS - t0)) -lt "$seconds" ] || return 1
    sleep 0.05
  done
}

# Both LBs' slot for ADDR has (on) or has not (off) the forced-drain bit, 0x08.
drain_bit_on_both() { (( $(admin_state lb-1 "$1") & 8 )) && (( $(admin_state lb-2 "$1") & 8 )); }
drain_bit_off_both() { (( ! ($(admin_state lb-1 "$1") & 8) )) && (( ! ($(admin_state lb-2 "$1") & 8) )); }

@test "Consul maintenance of an app host reaches HAProxy on both LBs within 2 s, and back" {
  agent_on app-1 maint on --reason "bats: propagation"
  local started ms=""
  started=$(date +%s%N)
  # 0x08: forced drain.
  if wait_until 10 drain_bit_on_both 10.78.0.31; then ms=$(( ($(date +%s%N) - started) / 1000000 )); fi
  agent_on app-1 maint off
  echo "# Consul maintenance -> drain on both LBs: ${ms:-never} ms (polling by docker exec)" >&3
  # One assertion per line: in bats, a failure before the last command of an && list is ignored.
  [ -n "$ms" ]
  [ "$ms" -lt 2000 ]
  wait_until 10 drain_bit_off_both 10.78.0.31
}

# HAProxy's view of the slot holding ADDR:PORT on LB: UP, DOWN, MAINT, ...
backend_status() {
  haproxy_stat "$1" | awk -F, -v addr="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == "be_cabify" && $col["addr"] == addr { print $col["status"] }'
}
up_on_both() { [ "$(backend_status lb-1 "$1")" = UP ] && [ "$(backend_status lb-2 "$1")" = UP ]; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# A counted load on the VIP in the background: this machine reaches it
# directly. 50 req/s for SECONDS, a new connection per request, 2 s timeout,
# no client retry: every request counts. Then three seconds of steady load
# (a baseline, not a wait for a condition), so a fault hits a cluster in service.
start_load() {
  LOAD_SUMMARY="$BATS_TEST_TMPDIR/load.json" LOAD_LOG="$BATS_TEST_TMPDIR/load.log" LOAD_EXPECTED=$((50 * $1))
  npx --no-install tsx tools/load/cli.ts --url "http://$VIP/status" --rate 50 --duration "$1" --timeout 2000 \
    --records "$BATS_TEST_TMPDIR/records.json" >"$LOAD_SUMMARY" 2>"$LOAD_LOG" 3>&- &
  LOAD_PID=$!
  sleep 3
}

# Waits for the load to end: it sent every request it should, and none failed.
load_lost_nothing() {
  wait "$LOAD_PID"
  cat "$LOAD_LOG" >&3
  [ "$(jq '.sent' "$LOAD_SUMMARY")" -eq "$LOAD_EXPECTED" ]
  [ "$(jq '.failed' "$LOAD_SUMMARY")" -eq 0 ]
}

@test "restarting an app host's Consul agent, then its cabify container, ends UP on both LBs, and no request fails" {
  start_load 40
  local t0 agent_ms="" container_ms=""
  t0=$(date +%s%N)
  docker exec "$CLUSTER-app-2" systemctl restart consul
  wait_until 30 consul_on app-2 members >/dev/null
  if wait_until 15 up_on_both 10.78.0.32:8080; then agent_ms=$(ms_since "$t0"); fi
  echo "# app-2's Consul agent restarted: agent back and app-2 UP on both LBs after ${agent_ms:-never} ms" >&3

  t0=$(date +%s%N)
  # SIGTERM: the instance drains, exits, and Docker's restart brings it back.
  docker exec "$CLUSTER-app-3" docker restart cabify >/dev/null
  if wait_until 15 up_on_both 10.78.0.33:8080; then container_ms=$(ms_since "$t0"); fi
  echo "# app-3's cabify container restarted (drain included): UP on both LBs after ${container_ms:-never} ms" >&3

  load_lost_nothing
  [ -n "$agent_ms" ]
  [ -n "$container_ms" ]
}

# --- Failover drills (tools/drill): each counts every request of its clients,
# asserts its expectation and leaves the lab healthy for the next. Reports
# (JSON + timeline SVG, every request kept) land in .test-results/drills/.
drill() {
  local out code=0
  out=$(npx --no-install tsx tools/drill/cli.ts "$1" --topology "$TOPOLOGY" --records 2>&1 3>&-) || code=$?
  grep -E '^\[drill\] ([a-z-]+: (PASS|FAIL)|  (ok  |FAIL|\| ))|^drill: ' <<<"$out" | sed 's/^/# /' >&3
  [ "$code" -eq 0 ]
}

@test "drill app-kill: 0 failed, out of both LBs <= 1.5 s, p99 <= 200 ms" { drill app-kill; }
@test "drill app-restart: 0 failed, back UP on both LBs <= 15 s" { drill app-restart; }
@test "drill app-partition: 0 failed, back UP after the cut" { drill app-partition; }
@test "drill consul-leader-kill: new leader <= 5 s, 0 failed" { drill consul-leader-kill; }
@test "drill consul-quorum-loss: 0 failed, quorum back, the sync follows again" { drill consul-quorum-loss; }
@test "drill consul-all-restart: 0 failed, a leader <= 30 s" { drill consul-all-restart; }
@test "drill lb-kill: VIP moves, longest gap <= 0.5 s" { drill lb-kill; }
@test "drill lb-stop: 0 failed" { drill lb-stop; }
@test "drill lb-return: VIP stays (nopreempt), 0 failed" { drill lb-return; }
@test "drill haproxy-kill: back or moved, longest gap <= 0.5 s" { drill haproxy-kill; }
@test "drill haproxy-stop: 0 failed" { drill haproxy-stop; }
@test "drill keepalived-stop: 0 failed" { drill keepalived-stop; }
@test "drill keepalived-kill: 0 failed, never two VIP holders > 1 s" { drill keepalived-kill; }
@test "drill lb-freeze: VIP moves, 0 failed until the unpause, one holder <= 2 s after it" { drill lb-freeze; }

# --- The VIP benchmark (tools/bench): a short run proves the four paths and
# the report section work; the figures themselves are the bench's to report
# (docs/results.md), not this test's to assert.
@test "npm run bench: direct, direct-all, VIP and the seed stack all answer every counted request; the report section is replaced" {
  local report="$BATS_TEST_TMPDIR/results.md"
  printf 'before\n<!-- bench:begin -->\nold\n<!-- bench:end -->\nafter\n' >"$report"
  run npx --no-install tsx tools/bench/cli.ts --topology "$TOPOLOGY" --seconds 1 --rate 200 --report "$report" 3>&-
  [ "$status" -eq 0 ]
  grep -E '^\[bench\] (direct|direct-all|vip|seed): [0-9]' <<<"$output" | sed 's/^/# /' >&3
  [ "$(grep -cE '^\[bench\] (direct|direct-all|vip|seed): [0-9]+ req/s \(0 failed\); at 200 req/s .*\(0 failed\)$' <<<"$output")" -eq 4 ]
  grep -q '^| vip (http://10.78.0.100:80/status) | [0-9]* | ' "$report"
  [ "$(head -1 "$report")" = before ] && [ "$(tail -1 "$report")" = after ] && ! grep -q '^old$' "$report"
  # The seed container is gone again.
  [ -z "$(docker ps -aq --filter "name=^$CLUSTER-bench-seed$")" ]
}
