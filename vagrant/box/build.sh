#!/usr/bin/env bash
# `npm run box`: build the Vagrant box cabify-ha/bookworm for the libvirt
# provider and add it to Vagrant, unless the box Vagrant has was built from the
# same inputs. Nothing here needs the internet beyond what the lab images need.
#
#   1. the lab images (scripts/build-images.sh) and the service's image archive;
#   2. the cabify-box image: vagrant/box/Dockerfile FROM the lab's host image;
#   3. its file system on a raw disk (one ext4 partition, extlinux), turned
#      into a compressed qcow2, packed with metadata.json into a .box;
#   4. `vagrant box add`, replacing an older build (and its copy in libvirt's pool).
#
# The inputs hash (host image ID, the files in vagrant/box, the archive's image
# ID) names the cached .box in $CABIFY_CACHE/box and is written into the box's
# metadata.json as "cabify_inputs", next to "cabify_version".
# The service image (package.json's version) is loaded into the box's Docker
# storage, so the VMs' first converge has no archive to ship or load.
# Usage: vagrant/box/build.sh [--force]     Progress on stderr, prefixed [box].
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
box_name=cabify-ha/bookworm
disk_gib=8
cache_root=${CABIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cabify-ha}
log_dir=${TMPDIR:-/tmp}/cabify-images
export DOCKER_BUILDKIT=0

log() { printf '[box] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
force=false
case "${1:-}" in
  --force) force=true ;;
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
  '') ;;
  *) die "unknown option $1 (try --help)" ;;
esac
[ "$(id -u)" -eq 0 ] || die "building a disk image needs root (loop devices, mount)"
started=$(date +%s)

"$here/scripts/ensure-vagrant.sh"
"$here/scripts/build-images.sh"
version=$(node -p 'require(process.argv[1]).version' "$here/package.json")
archive=$("$here/scripts/image-archive.sh" cabify "$version")
host_id=$(docker image inspect --format '{{.Id}}' cabify-host:latest)

inputs=$(
  cd "$here"
  { find vagrant/box -type f | LC_ALL=C sort | xargs sha256sum
    printf 'host %s\narchive %s\ndisk %s\n' "$host_id" "$(cat "$archive.id")" "$disk_gib"; } | sha256sum | cut -c1-16
)
box_dir=$cache_root/box/$inputs
box_file=$box_dir/cabify-ha.box
installed_metadata=${VAGRANT_HOME:-$HOME/.vagrant.d}/boxes/${box_name//\//-VAGRANTSLASH-}/0/libvirt/metadata.json

if ! $force && [ "$(jq -r .cabify_inputs "$installed_metadata" 2>/dev/null)" = "$inputs" ]; then
  log "$box_name $inputs already added to Vagrant"
  exit 0
fi

if $force || [ ! -s "$box_file" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/cabify-box.XXXXXX")
  mnt=$work/root loop=
  cleanup() {
    if mountpoint -q "$mnt"; then umount "$mnt"; fi
    if [ -n "$loop" ]; then losetup -d "$loop"; fi
    rm -rf "$work"
  }
  trap cleanup EXIT

  # The image: the build context is vagrant/box plus Vagrant's insecure public key.
  mkdir -p "$work/context"
  cp -a "$here/vagrant/box/." "$work/context/"
  vagrant_key=$(find /usr/share/rubygems-integration /usr/lib/ruby /opt/vagrant -path '*/keys/vagrant.pub' 2>/dev/null | head -n 1 || true)
  [ -n "$vagrant_key" ] || die "Vagrant's insecure public key (keys/vagrant.pub) not found; is vagrant installed?"
  cp "$vagrant_key" "$work/context/vagrant.pub"
  mkdir -p "$log_dir"
  log "building the cabify-box image FROM cabify-host (log: $log_dir/cabify-box.log)"
  t0=$(date +%s)
  docker build --force-rm -t "cabify-box:$inputs" --build-arg "HOST_IMAGE=$host_id" "$work/context" >"$log_dir/cabify-box.log" 2>&1 \
    || { tail -n 30 "$log_dir/cabify-box.log" >&2; die "building cabify-box failed"; }
  log "image built in $(( $(date +%s) - t0 ))s"

  # The disk: an msdos label with one partition from 1 MiB. This machine's
  # kernel may lack partition support on loop devices, so the partition is
  # reached through an offset loop device instead of loopNp1.
  t0=$(date +%s)
  disk=$work/disk.raw
  truncate -s "${disk_gib}G" "$disk"
  # (libparted calls udevadm, which this machine may lack: harmless.)
  parted -s "$disk" mklabel msdos mkpart primary ext4 1MiB 100% set 1 boot on 2> >(grep -v udevadm >&2)
  loop=$(losetup --find --show --offset $((1024 * 1024)) --sizelimit $(( disk_gib * 1024 * 1024 * 1024 - 1024 * 1024 )) "$disk")
  mkfs.ext4 -q -L root "$loop"
  mkdir -p "$mnt"
  mount "$loop" "$mnt"
  container=$(docker create "cabify-box:$inputs")
  docker export "$container" | tar -x -C "$mnt"
  docker rm "$container" >/dev/null
  # The service's image, loaded into the box's own Docker storage by a
  # dockerd started from the box image on that very disk: `docker load` in a
  # VM under emulation takes minutes, and the cabify role skips an image the
  # engine already has. No network and no bridge: it only loads an image.
  docker run --rm --network none --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    -v "$mnt/var/lib/docker:/var/lib/docker" -v "$archive:/tmp/image.tar:ro" \
    --entrypoint /bin/sh "cabify-box:$inputs" -c '
      dockerd --bridge=none --iptables=false >/tmp/dockerd.log 2>&1 &
      for i in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
      docker load -q -i /tmp/image.tar && kill $! && wait $!' 2>&1 | sed "s/^/[box]   /" >&2 \
    || die "loading the service image into the box's Docker storage failed"
  # Docker's export leaves these as bind-mount placeholders.
  printf 'cabify\n' >"$mnt/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 cabify\n' >"$mnt/etc/hosts"
  rm -f "$mnt/etc/resolv.conf" "$mnt/.dockerenv"
  kernel=$(find "$mnt/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sort -V | tail -n 1)
  mkdir -p "$mnt/boot/extlinux"
  cat >"$mnt/boot/extlinux/extlinux.conf" <<CONF
DEFAULT linux
TIMEOUT 0
LABEL linux
  LINUX /boot/$kernel
  INITRD /boot/initrd.img-${kernel#vmlinuz-}
  APPEND root=LABEL=root ro net.ifnames=0 console=ttyS0 mitigations=off nowatchdog quiet
CONF
  extlinux --install "$mnt/boot/extlinux" 2>/dev/null
  umount "$mnt"
  losetup -d "$loop"; loop=
  dd if=/usr/lib/EXTLINUX/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none
  docker rmi "cabify-box:$inputs" >/dev/null
  log "disk written in $(( $(date +%s) - t0 ))s; compressing to qcow2"

  t0=$(date +%s)
  qemu-img convert -c -O qcow2 "$disk" "$work/box.img"
  rm -f "$disk"
  jq -n --arg inputs "$inputs" --arg version "$version" --argjson size "$disk_gib" \
    '{provider: "libvirt", format: "qcow2", virtual_size: $size, cabify_version: $version, cabify_inputs: $inputs}' \
    >"$work/metadata.json"
  mkdir -p "$box_dir"
  tar -C "$work" -cf "$box_file.partial" metadata.json box.img
  mv "$box_file.partial" "$box_file"
  log "box $box_file ($(du -h "$box_file" | cut -f1)) packed in $(( $(date +%s) - t0 ))s"
  # Older builds' boxes are dropped: only the current one is ever added.
  find "$cache_root/box" -mindepth 1 -maxdepth 1 -type d ! -name "$inputs" -exec rm -rf {} +
  cleanup; trap - EXIT
fi

# Replacing the box also means dropping libvirt's copy of the old one, which
# vagrant-libvirt keeps in the storage pool and would otherwise reuse.
if vagrant box list 2>/dev/null | grep -q "^$box_name "; then
  vagrant box remove --force --all "$box_name" >/dev/null
fi
virsh -c qemu:///system vol-list default 2>/dev/null | awk -v p="${box_name//\//-VAGRANTSLASH-}_vagrant_box_image_" 'index($1, p) == 1 {print $1}' \
  | while read -r vol; do virsh -c qemu:///system vol-delete --pool default "$vol" >/dev/null; done
vagrant box add --force --name "$box_name" "$box_file" 2>&1 | grep --line-buffered -E 'Successfully|Error' | sed 's/^/[box]   /' >&2
log "$box_name $inputs added in $(( $(date +%s) - started ))s in all"
