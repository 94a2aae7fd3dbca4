#!/usr/bin/env bash
# Print the path of a Consul binary of the pinned version (CONSUL_VERSION in
# versions.env), building it from the Go module proxy (through
# build/consul/go.mod) the first time and caching it outside the repository,
# keyed by version. Progress goes to stderr; the path alone goes to stdout, so
# callers can do: CONSUL_BIN=$(scripts/ensure-consul.sh)
#
# Order of preference: $CONSUL_BIN, a `consul` on PATH, the cache, a build.
# Each candidate must report exactly the pinned version.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/../versions.env
. "$here/versions.env"
version=${CONSUL_VERSION:?versions.env does not set CONSUL_VERSION}
cache_dir=${CABIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cabify-ha}/consul/$version
cached=$cache_dir/consul

log() { printf '[consul] %s\n' "$*" >&2; }

is_pinned() {
  # No `| head`: under pipefail, consul's SIGPIPE would make the check fail at random.
  local out
  [ -x "$1" ] && out=$("$1" version 2>/dev/null) && [ "${out%%$'\n'*}" = "Consul v$version" ]
}

for candidate in "${CONSUL_BIN:-}" "$(command -v consul || true)" "$cached"; do
  if [ -n "$candidate" ] && is_pinned "$candidate"; then
    printf '%s\n' "$candidate"
    exit 0
  fi
done
if [ -n "${CONSUL_BIN:-}" ]; then
  log "CONSUL_BIN=$CONSUL_BIN is not Consul v$version; building the pinned version instead"
fi

command -v go >/dev/null || { log "Go is needed to build Consul (apt-get install golang-go, or a Go toolchain on PATH)"; exit 1; }

log "building Consul v$version from the Go module proxy (cold: module download + 5-15 min compile on 2 cores)"
started=$(date +%s)
mkdir -p "$cache_dir"
tmp=$(mktemp "$cache_dir/consul.XXXXXX")
trap 'rm -f "$tmp"' EXIT
(
  cd "$here/build/consul"
  log "downloading modules (go mod download -x shows each fetch)"
  go mod download -x 2>&1 | grep --line-buffered -E '^# get .*: 200' | sed -u 's/^/[consul]   /' >&2 || true
  log "compiling (go build -v lists each package as it finishes)"
  # -mod=readonly: the committed go.sum is the only accepted dependency set.
  CGO_ENABLED=0 go build -mod=readonly -trimpath -v -o "$tmp" \
    -ldflags "-s -w -X github.com/hashicorp/consul/version.GitCommit=c0c5688c" \
    github.com/hashicorp/consul 2>&1 | awk '{ n++; if (n % 50 == 0) { printf "[consul]   %d packages compiled (%s)\n", n, $0; fflush() } }' >&2
)
is_pinned "$tmp" || { log "the built binary does not report Consul v$version"; "$tmp" version >&2 || true; exit 1; }
mv "$tmp" "$cached"
trap - EXIT
log "built in $(( $(date +%s) - started ))s: $cached ($(du -h "$cached" | cut -f1))"
printf '%s\n' "$cached"
