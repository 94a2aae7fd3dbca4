#!/usr/bin/env bash
# Build cabify-base:bookworm, the root of every image in this project, from
# Debian's own mirror: there is no image registry to pull `debian:bookworm`
# from, so debootstrap a minimal rootfs and `docker import` it.
#
# Cached: does nothing when the image exists. --force rebuilds it (every image
# built FROM it then gets a new inputs hash and rebuilds too).
# Progress goes to stderr, prefixed [images].
set -euo pipefail

image=cabify-base:bookworm
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

log() { printf '[images] %s\n' "$*" >&2; }

force=false
case "${1:-}" in
  --force) force=true ;;
  "") ;;
  *) log "usage: $0 [--force]"; exit 2 ;;
esac

if ! $force && docker image inspect "$image" >/dev/null 2>&1; then
  log "$image cached ($(docker image inspect --format '{{.Id}}' "$image" | cut -c8-19))"
  exit 0
fi

if ! command -v debootstrap >/dev/null; then
  log "debootstrap not installed: apt-get install debootstrap"
  # Try without `apt-get update` first: the lists are usually fresh enough for one package.
  install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1; }
  install || { apt-get update -qq && install; } || { log "apt-get install debootstrap failed"; exit 1; }
fi

started=$(date +%s)
rootfs=$(mktemp -d /var/tmp/cabify-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

log "debootstrap --variant=minbase $suite from $mirror (cold: ~45 s)"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" 2>&1 \
  | { grep --line-buffered -E '^I: (Retrieving Release|Validating Packages|Extracting|Installing core|Configuring|Base system)' || true; } \
  | { grep --line-buffered -vE '^I: (Extracting|Configuring) [^ ]+\.\.\.$' || true; } \
  | sed -u 's/^/[images]   /' >&2

log "configuring apt sources (main, updates, security) and slimming the rootfs"
cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security_mirror $suite-security main
EOF
# Containers are not localised and nobody reads man pages in them; keep copyright files.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/cabify-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/cabify-no-languages"
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,info}/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
  "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/*.log \
  "$rootfs"/var/log/apt/* "$rootfs"/tmp/*
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
log "rootfs is $(du -sh "$rootfs" | cut -f1)"

log "docker import -> $image"
tar --numeric-owner -C "$rootfs" -c . \
  | docker import \
      --change 'CMD ["/bin/bash"]' \
      --change 'ENV LANG=C.UTF-8' \
      --change "LABEL org.opencontainers.image.title=cabify-base org.opencontainers.image.description=\"debootstrap --variant=minbase $suite\" org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
      - "$image" >/dev/null
log "$image built in $(( $(date +%s) - started ))s ($(docker image ls --format '{{.Size}}' "$image"))"
