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

# consul_api METHOD PATH [BODY [TOKEN_FILE]]: Consul's API on consul-1's
# loopback; prints the body, then the HTTP status on a line of its own. The
# token (the management token unless named) goes in on stdin.
consul_api() {
  docker exec -i -e METHOD="$1" -e URLPATH="$2" -e BODY="${3:-}" "$CLUSTER-consul-1" sh -c '
    set --; [ -z "$BODY" ] || set -- --data "$BODY"
    sed "s/^/X-Consul-Token: /" | curl -s -m 5 -w "\n%{http_code}\n" -X "$METHOD" -H @- "$@" "http://127.0.0.1:8500$URLPATH"' \
    <"${4:-$SECRETS/consul-management.token}"
}

# A rogue agent (the test that starts one) is gone after every test, even a
# failed one: its container, and its entry in the member list.
# (A member left "failed" would make every keyring operation fail, the gossip
# key rotation below included: it leaves first, then is pruned from the list.)
teardown() {
  docker container inspect "$CLUSTER-rogue" >/dev/null 2>&1 || return 0
  docker exec "$CLUSTER-rogue" consul leave >/dev/null 2>&1 || true
  docker rm -f "$CLUSTER-rogue" >/dev/null
  local _
  for _ in $(seq 30); do
    consul_on consul-1 "force-leave -prune rogue" >/dev/null 2>&1 || true
    consul_on consul-1 members | grep -q '^rogue ' || return 0
    sleep 1
  done
  echo "rogue is still a member" >&2
  return 1
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

@test "a Consul server's API: no plain HTTP on the network; over HTTPS an anonymous caller can neither list nor register" {
  # Plain HTTP listens on the server's loopback only: refused from outside (curl exit 7).
  run curl -s -m 2 "http://10.78.0.11:8500/v1/catalog/services"
  [ "$status" -eq 7 ]
  # HTTPS with a certificate this machine cannot check without the cluster CA (exit 60).
  run curl -s -m 2 "https://10.78.0.11:8501/v1/catalog/services"
  [ "$status" -eq 60 ]
  run curl -s -m 2 --cacert "$CA" "https://10.78.0.11:8501/v1/catalog/services"
  [ "$status" -eq 0 ]
  [[ "$output" != *cabify* ]]
  run curl -s -m 2 --cacert "$CA" -o /dev/null -w '%{http_code}' -X PUT -d '{"Name":"intruder","Port":1}' "https://10.78.0.11:8501/v1/agent/service/register"
  [ "$output" = "403" ]
  # With the management token the same listing does show the service.
  run consul_on consul-1 "catalog services"
  [[ "$output" == *cabify* ]]
}

# A stranger on the segment starts its own Consul agent and tries to join.
# Without the gossip key it is not let in; with the key (stolen, say) but
# without a certificate the servers trust, it is a member that can ask
# nothing: every RPC to a server needs TLS with a certificate from the CA.
@test "a rogue Consul agent: without the gossip key it cannot join; with it but without the CA it gets no answer from the servers" {
  local rogue=$CLUSTER-rogue image
  # The lab's own host image: it has the same Consul binary.
  image=$(docker inspect --format '{{.Config.Image}}' "$CLUSTER-consul-1")
  docker rm -f "$rogue" >/dev/null 2>&1 || true
  docker run -d --name "$rogue" --network "$CLUSTER-net" --ip 10.78.0.99 --label "cabify.lab=$CLUSTER" \
    --entrypoint sleep "$image" 300 >/dev/null
  # (The key goes in through a file, from stdin, never on a command line.)
  start_rogue() {
    docker exec -i "$rogue" sh -c "mkdir -p /tmp/rogue && cat >/tmp/rogue/extra.json" <<<"$1"
    docker exec -d "$rogue" consul agent -node rogue -bind 10.78.0.99 -data-dir /tmp/rogue/data \
      -config-file /tmp/rogue/extra.json -log-file /tmp/rogue/agent.log
    for _ in $(seq 50); do docker exec "$rogue" consul info >/dev/null 2>&1 && return 0; sleep 0.2; done
    return 1
  }
  start_rogue '{}'
  run docker exec "$rogue" consul join 10.78.0.11
  echo "$output"
  [ "$status" -ne 0 ]
  run consul_on consul-1 members
  [[ "$output" != *rogue* ]]

  docker exec "$rogue" sh -c 'pkill consul; while pgrep -x consul >/dev/null; do sleep 0.1; done; rm -rf /tmp/rogue'
  start_rogue "{\"encrypt\": \"$(cat "$SECRETS/consul-gossip.key")\"}"
  run docker exec "$rogue" consul join 10.78.0.11
  [ "$status" -eq 0 ]
  # In the member list, but a catalog read through it dies at the server's TLS.
  run docker exec "$rogue" curl -s -m 5 -w ' %{http_code}' http://127.0.0.1:8500/v1/catalog/services
  echo "$output"
  [[ "$output" == *" 500" ]]
}

# The service's token is for registering the service itself, nothing else.
@test "the cabify token can neither register another service nor read the KV store" {
  as_cabify() {
    docker exec -i "$CLUSTER-app-1" sh -c "sed 's/^/X-Consul-Token: /' | curl -s -m 2 -o /dev/null -w '%{http_code}' -H @- $*" \
      <"$SECRETS/consul-cabify.token"
  }
  [ "$(as_cabify "-X PUT -d '{\"Name\":\"intruder\",\"Port\":1}' http://127.0.0.1:8500/v1/agent/service/register")" = 403 ]
  # A key the management token wrote: refused by name, and absent from a listing.
  consul_api PUT /v1/kv/lab-test/secret "not for cabify" >/dev/null
  [ "$(as_cabify "http://127.0.0.1:8500/v1/kv/lab-test/secret")" = 403 ]
  [ "$(as_cabify "http://127.0.0.1:8500/v1/kv/?recurse")" = 404 ]
  consul_api DELETE /v1/kv/lab-test/secret >/dev/null
  # The same token may read its own identity: the 403s above are its policy at work.
  [ "$(as_cabify "http://127.0.0.1:8500/v1/acl/token/self")" = 200 ]
}

@test "the HAProxy stats page: HTTPS only; refuses no password and a wrong one, opens with the generated one" {
  local url=https://10.78.0.21:8404/stats
  # Plain HTTP on the stats port gets no page.
  run curl -s -m 2 -o /dev/null -w '%{http_code}' "http://10.78.0.21:8404/stats"
  [ "$output" != 200 ] && [ "$output" != 401 ]
  [ "$(curl -s -m 2 --cacert "$CA" -o /dev/null -w '%{http_code}' "$url")" = 401 ]
  [ "$(curl -s -m 2 --cacert "$CA" -o /dev/null -w '%{http_code}' -u admin:wrong "$url")" = 401 ]
  # The real password from a file (-K), never on a command line.
  [ "$(printf 'user = "admin:%s"\n' "$(cat "$SECRETS/haproxy-stats.password")" | curl -s -m 2 --cacert "$CA" -o /dev/null -w '%{http_code}' -K - "$url")" = 200 ]
}

@test "the VIP over HTTPS: the certificate checks against the cluster CA, and it serves /status" {
  run curl -s -m 2 --cacert "$CA" "https://$VIP/status"
  [ "$status" -eq 0 ]
  [[ "$output" == "OK from 10.78.0.3"* ]]
}

# Request limits at the VIP: a request head bigger than HAProxy's buffer is
# refused, and a client that sends its headers too slowly is cut off.
@test "the VIP refuses a 1 MB header, and times out a slow header" {
  local big=$BATS_TEST_TMPDIR/big-header
  { printf 'X-Big: '; head -c 1000000 /dev/zero | tr '\0' a; echo; } >"$big"
  run curl -s -m 5 -o /dev/null -w '%{http_code}' -H "@$big" "http://$VIP/status"
  echo "$output"
  [[ "$output" =~ ^(400|431)$ ]]
  # Half a request head, then silence: HAProxy answers 408 after timeout http-request (5 s).
  run bash -c "exec 3<>/dev/tcp/$VIP/80; printf 'GET /status HTTP/1.1\r\nHost: x\r\n' >&3; timeout 10 head -c 200 <&3"
  echo "$output"
  [[ "$output" == "HTTP/1.1 408"* ]]
}

# Every secret site.yml generated for this lab (gossip key, ACL tokens, stats
# password): readable by its owner only, in no file git tracks, and nowhere in
# the log of the site.yml run that created and used them.
@test "generated secrets are 0600, in no file git tracks, and not in site.yml's log" {
  local file secret count=0
  [ "$(stat -c %a "$SECRETS")" = 700 ]
  git check-ignore -q "$SECRETS/consul-gossip.key"
  for file in "$SECRETS"/*.token "$SECRETS"/*.key "$SECRETS"/*.password "$SECRETS"/tls/*.key; do
    count=$((count + 1))
    [ "$(stat -c %a "$file")" = 600 ]
    # The secret itself: the one line of a token, key or password; each line of a PEM key's body.
    secret=$BATS_TEST_TMPDIR/secret
    grep -v '^-----' "$file" >"$secret"
    [ -s "$secret" ]
    if git grep -q -F -f "$secret" -- .; then echo "${file#"$SECRETS"/} is in a tracked file"; false; fi
    if grep -q -F -f "$secret" "$BATS_SUITE_TMPDIR/lab-up.log"; then echo "${file#"$SECRETS"/} is in site.yml's log"; false; fi
  done
  # Gossip key, stats password, 3 service tokens, one agent token for each of
  # the 8 hosts, and the keys of the CA, 3 Consul servers and 2 LBs.
  [ "$count" -ge 19 ]
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

# systemd's sandbox around the Consul agent (roles/consul, consul.service):
# read from the running process itself, on a server and on a client.
@test "Consul runs sandboxed: no capability, no privilege gain, / read-only" {
  local host pid
  for host in consul-1 app-1; do
    pid=$(docker exec "$CLUSTER-$host" systemctl show --property MainPID --value consul)
    [ "$pid" -gt 0 ]
    run docker exec "$CLUSTER-$host" grep -E '^(CapEff|CapBnd|NoNewPrivs):' "/proc/$pid/status"
    echo "$host: $output"
    [ "$(grep -c $'^Cap\(Eff\|Bnd\):\t0000000000000000$' <<<"$output")" -eq 2 ]
    [[ "$output" == *$'NoNewPrivs:\t1'* ]]
    # The root mount as the process sees it (ProtectSystem=strict).
    run docker exec "$CLUSTER-$host" awk '$5 == "/" { print $6 }' "/proc/$pid/mountinfo"
    [[ "$output" == ro* ]]
  done
}

# keepalived keeps the capabilities VRRP needs, but is sandboxed otherwise
# (roles/keepalived, override.conf): read from the running process on each LB.
@test "keepalived runs sandboxed: no privilege gain, /etc and /usr read-only" {
  local lb pid
  for lb in lb-1 lb-2; do
    pid=$(docker exec "$CLUSTER-$lb" systemctl show --property MainPID --value keepalived)
    [ "$pid" -gt 0 ]
    run docker exec "$CLUSTER-$lb" grep '^NoNewPrivs:' "/proc/$pid/status"
    [ "$output" = $'NoNewPrivs:\t1' ]
    run docker exec "$CLUSTER-$lb" awk '$5 == "/etc" || $5 == "/usr" { print $5, $6 }' "/proc/$pid/mountinfo"
    echo "$lb: $output"
    [[ "$output" == *"/etc ro"* ]]
    [[ "$output" == *"/usr ro"* ]]
  done
}

@test "npm run lab -- status reports members, leader, VIP holder and backends" {
  run npx --no-install tsx tools/lab/cli.ts status --topology "$TOPOLOGY"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Consul: 8/8 members alive; leader consul-"*"; 3 voters"* ]]
  [[ "$output" =~ "VIP $VIP: held by lb-"[12]$'\n' ]]
  [ "$(grep -cE '^lb-[12] +app[0-9]+ +10\.78\.0\.3[123]:8080 +UP ' <<<"$output")" -eq 6 ]
}

# Rotating the gossip key in every agent's keyring, under a counted load on
# the VIP (start_load, below). The playbook itself waits, at each step, until
# every member of every pool holds the key it must; checked here once more.
@test "the gossip key rotates through the keyring under counted load: every agent ends with the new key only, no request fails" {
  local old
  old=$(cat "$SECRETS/consul-gossip.key")
  start_load 20
  run env ANSIBLE_CONFIG=ansible/ansible.cfg ansible-playbook -i ".lab/$CLUSTER/inventory.yml" ansible/rotate-gossip-key.yml \
    -e "topology_file=$PWD/$TOPOLOGY"
  local rotate_status=$status rotate_output=$output
  load_lost_nothing
  tail -n 20 <<<"$rotate_output"
  [ "$rotate_status" -eq 0 ]
  [ "$(cat "$SECRETS/consul-gossip.key")" != "$old" ]
  [ ! -e "$SECRETS/consul-gossip.key.new" ]
  # One key, on all 8 agents (LAN) and the 3 servers (WAN): the new one.
  run consul_api GET /v1/operator/keyring
  echo "$output"
  [ "$(sed '$d' <<<"$output" | jq --arg k "$(cat "$SECRETS/consul-gossip.key")" '[.[] | (.Keys == {($k): .NumNodes})] | all')" = true ]
  [ "$(sed '$d' <<<"$output" | jq '[.[] | select(.WAN | not) | .NumNodes] | .[0]')" -eq 8 ]
  run consul_on consul-1 members
  [ "$(grep -c ' alive ' <<<"$output")" -eq 8 ]
}

# Rotation by re-running site.yml, under a counted load on the VIP: the
# haproxy-sync token and the stats password are deleted (the documented way to
# rotate them), and a host "ghost", which the topology lacks, holds an agent
# token and policy in Consul, planted here. The same run also writes the new
# gossip key of the test above into every agent's encrypt.hcl.
@test "site.yml rotates deleted secrets and revokes what it no longer hands out, under counted load: no request fails, the old ones are refused at once" {
  local ghost=$BATS_TEST_TMPDIR/ghost.token old_sync=$BATS_TEST_TMPDIR/old-sync.token old_password=$BATS_TEST_TMPDIR/old.password
  python3 -c 'import uuid; print(uuid.uuid4())' >"$ghost"
  consul_api PUT /v1/acl/policy '{"Name": "agent-ghost", "Description": "Agent token policy for ghost (Ansible role consul).", "Rules": "node \"ghost\" { policy = \"write\" }"}'
  consul_api PUT /v1/acl/token "{\"SecretID\": \"$(cat "$ghost")\", \"Description\": \"Agent token for ghost (Ansible role consul).\", \"Policies\": [{\"Name\": \"agent-ghost\"}]}"
  [ "$(consul_api GET /v1/acl/token/self "" "$ghost" | tail -n 1)" = 200 ]
  mv "$SECRETS/consul-haproxy-sync.token" "$old_sync"
  mv "$SECRETS/haproxy-stats.password" "$old_password"

  start_load 105
  local started=$SECONDS
  run env ANSIBLE_CONFIG=ansible/ansible.cfg ansible-playbook -i ".lab/$CLUSTER/inventory.yml" ansible/site.yml \
    -e "topology_file=$PWD/$TOPOLOGY"
  local site_status=$status site_output=$output
  echo "# site.yml ran $((SECONDS - started)) s of the 102 s of load left" >&3
  load_lost_nothing
  sed -n '/PLAY RECAP/,$p' <<<"$site_output"
  [ "$site_status" -eq 0 ]
  # The run names what it revoked (descriptions only, never a secret).
  [[ "$site_output" == *"Agent token for ghost (Ansible role consul)."* ]]
  [[ "$site_output" == *"haproxy-consul-sync on the load balancers"* ]]

  # Refused on the very next request; the ghost's policy gone with its token.
  [ "$(consul_api GET /v1/acl/token/self "" "$ghost" | tail -n 1)" = 403 ]
  [ "$(consul_api GET /v1/acl/token/self "" "$old_sync" | tail -n 1)" = 403 ]
  [[ "$(consul_api GET /v1/acl/policies)" != *agent-ghost* ]]
  # The new sync token, and the tokens the topology still names, work.
  [ "$(consul_api GET /v1/acl/token/self "" "$SECRETS/consul-haproxy-sync.token" | tail -n 1)" = 200 ]
  [ "$(consul_api GET /v1/acl/token/self "" "$SECRETS/consul-cabify.token" | tail -n 1)" = 200 ]
  [ "$(consul_api GET /v1/acl/token/self "" "$SECRETS/consul-agent-app-1.token" | tail -n 1)" = 200 ]
  # The stats page: the old password refused, the new one accepted, on both LBs.
  local lb
  for lb in 10.78.0.21 10.78.0.22; do
    [ "$(printf 'user = "admin:%s"\n' "$(cat "$old_password")" | curl -s -m 2 --cacert "$CA" -o /dev/null -w '%{http_code}' -K - "https://$lb:8404/stats")" = 401 ]
    [ "$(printf 'user = "admin:%s"\n' "$(cat "$SECRETS/haproxy-stats.password")" | curl -s -m 2 --cacert "$CA" -o /dev/null -w '%{http_code}' -K - "https://$lb:8404/stats")" = 200 ]
  done
  # The agents' configuration carries the rotated gossip key.
  run docker exec -i "$CLUSTER-app-1" grep -c -F -f - /etc/consul.d/encrypt.hcl <"$SECRETS/consul-gossip.key"
  [ "$output" = 1 ]
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
