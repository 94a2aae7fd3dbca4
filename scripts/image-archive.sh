#!/usr/bin/env bash
# Make sure dist/images/<image>-<version>.tar holds the image <image>:<version>,
# the archive Ansible ships to app hosts (there is no registry). The archive is
# rewritten only when the image changed (its ID is kept beside it, in .id).
# An image missing from the local engine is built when it is this checkout's
# own version (package.json); any other version must be built first:
#   scripts/build-images.sh --version <version> [--patch FILE]
#
# Usage: scripts/image-archive.sh <image> <version>   (prints the archive's path)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=${1:?usage: scripts/image-archive.sh <image> <version>}
version=${2:?usage: scripts/image-archive.sh <image> <version>}
log() { printf '[archive] %s\n' "$*" >&2; }

if ! docker image inspect "$image:$version" >/dev/null 2>&1; then
  own=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$here/package.json")
  if [ "$version" != "$own" ]; then
    log "$image:$version is not in this machine's Docker engine, and this checkout is version $own."
    log "Build that release first: scripts/build-images.sh --version $version"
    exit 1
  fi
  log "$image:$version is this checkout's version; building it"
  "$here/scripts/build-images.sh" >&2
fi

dir=$here/dist/images
archive=$dir/$image-$version.tar
id=$(docker image inspect --format '{{.Id}}' "$image:$version")
mkdir -p "$dir"
if [ ! -s "$archive" ] || [ "$(cat "$archive.id" 2>/dev/null)" != "$id" ]; then
  log "saving $image:$version to $archive"
  # Written beside, then moved: a half-written archive never looks complete.
  docker save -o "$archive.partial" "$image:$version"
  mv "$archive.partial" "$archive"
  printf '%s' "$id" >"$archive.id"
fi
printf '%s\n' "$archive"
