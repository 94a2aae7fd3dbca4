#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`, installing and starting one
# if needed. Idempotent: with a working engine it does nothing.
#
#   1. `docker info` works          -> done.
#   2. no `dockerd` installed       -> apt-get install docker.io (Debian 12: 20.10).
#   3. no dockerd running           -> start one in the background, log in
#                                      /var/log/cabify-dockerd.log (never a second one).
#   4. wait up to 60 s for `docker info`.
#
# A newer docker *client* (e.g. 28.x in /usr/local/bin) is fine: it negotiates
# the API version down to what the 20.10 daemon speaks.
# Progress goes to stderr, prefixed [docker].
set -euo pipefail

log_file=${CABIFY_DOCKERD_LOG:-/var/log/cabify-dockerd.log}
wait_seconds=60

log() { printf '[docker] %s\n' "$*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null && engine_answers; then
  log "engine is up ($(docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}' 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  log "the engine does not answer and installing/starting one needs root; run as root or start Docker yourself"
  exit 1
fi

if ! command -v dockerd >/dev/null; then
  log "dockerd not installed: apt-get install docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq 2>&1 | sed 's/^/[docker]   /' >&2
  apt-get install -y -qq --no-install-recommends docker.io 2>&1 \
    | { grep --line-buffered -E '^(Setting up|E:)' || true; } | sed 's/^/[docker]   /' >&2
  log "installed $(dockerd --version)"
fi
if ! command -v docker >/dev/null; then
  log "no docker client on PATH after installing docker.io"
  exit 1
fi

# --ns $$ --nslist pid: only daemons in *our* PID namespace count; the engines
# inside lab host containers are also processes named dockerd on this machine.
if running=$(pgrep -x dockerd --ns $$ --nslist pid); then
  log "dockerd already running (pid $(echo "$running" | tr '\n' ' ')); waiting for it to answer"
else
  log "starting dockerd in the background (log: $log_file)"
  # setsid: the daemon outlives this script and its terminal's signals.
  setsid dockerd >>"$log_file" 2>&1 </dev/null &
  log "dockerd pid $!"
fi

for ((i = 0; i < wait_seconds; i++)); do
  if engine_answers; then
    log "engine is up after ${i}s ($(docker version --format 'client {{.Client.Version}}, server {{.Server.Version}} (API {{.Server.APIVersion}})'))"
    exit 0
  fi
  sleep 1
done
log "docker info still fails after ${wait_seconds}s; last lines of $log_file:"
tail -n 20 "$log_file" >&2 || true
exit 1
