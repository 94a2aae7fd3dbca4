#!/usr/bin/env bash
# Make sure `vagrant up` can run VMs on this machine with the libvirt provider,
# installing and starting what is missing. Idempotent: with everything in place
# it only checks.
#
#   1. Debian packages: vagrant + vagrant-libvirt, libvirt, QEMU, what the box
#      build needs (parted, extlinux, qemu-img) and mitogen for Ansible.
#   2. /dev/kvm group kvm, mode 660 (what udev does on a normal Debian): with a
#      root-only /dev/kvm libvirt re-probes QEMU on every domain definition,
#      which slows every `vagrant up` (docs/vagrant.md).
#   3. virtlogd and libvirtd running (started in the background when not).
#   4. the libvirt storage pool "default" defined and started.
#
# Progress goes to stderr, prefixed [vagrant].
set -euo pipefail

log() { printf '[vagrant] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "installing packages and starting libvirtd needs root; run as root or set them up yourself (docs/vagrant.md)"
  exit 1
fi

packages=(
  vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils
  dnsmasq-base iptables parted extlinux syslinux-common ansible-mitogen
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query --show --showformat '${db:Status-Status}' "$package" 2>/dev/null | grep -qx installed || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq 2>&1 | sed 's/^/[vagrant]   /' >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1 \
    | { grep --line-buffered -E '^(Setting up (vagrant|libvirt-daemon |qemu-system-x86 |ansible-mitogen)|E:)' || true; } \
    | sed 's/^/[vagrant]   /' >&2
else
  log "Debian packages present ($(vagrant --version), $(virsh --version 2>/dev/null | sed 's/^/libvirt /'))"
fi

if [ -e /dev/kvm ] && getent group kvm >/dev/null && [ "$(stat -c %G:%a /dev/kvm)" != kvm:660 ]; then
  log "/dev/kvm: group kvm, mode 660"
  chgrp kvm /dev/kvm && chmod 660 /dev/kvm
fi

# Only daemons in our own PID namespace count (containers may run their own).
for daemon in virtlogd libvirtd; do
  if pid=$(pgrep -x "$daemon" --ns $$ --nslist pid); then
    log "$daemon running (pid ${pid//$'\n'/ })"
  else
    log "starting $daemon in the background"
    # -d daemonises; libvirtd without -l (listening on TCP wants TLS certificates).
    "$daemon" -d
  fi
done

for ((i = 0; i < 30; i++)); do
  virsh -c qemu:///system version >/dev/null 2>&1 && break
  sleep 1
done
virsh -c qemu:///system version >/dev/null || { log "libvirtd does not answer on qemu:///system"; exit 1; }

pool_dir=/var/lib/libvirt/images
if ! virsh -c qemu:///system pool-info default >/dev/null 2>&1; then
  log "defining the storage pool 'default' in $pool_dir"
  mkdir -p "$pool_dir"
  virsh -c qemu:///system pool-define-as default dir --target "$pool_dir" >/dev/null
fi
if [ "$(virsh -c qemu:///system pool-info default | awk '/^State:/ {print $2}')" != running ]; then
  virsh -c qemu:///system pool-start default >/dev/null
  virsh -c qemu:///system pool-autostart default >/dev/null
fi
log "libvirt ready ($(virsh -c qemu:///system list --all --name | grep -c . || true) domains defined)"
