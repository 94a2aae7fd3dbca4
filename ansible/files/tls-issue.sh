#!/usr/bin/env bash
# The cluster's private CA and the certificates it signs, kept on the
# controller beside the other secrets (secrets/<cluster>/tls/). Run by the
# secrets play of site.yml; idempotent, and prints "issued" when it wrote.
#
#   tls-issue.sh ca   DIR                     DIR/ca.key + DIR/ca.crt, once
#   tls-issue.sh leaf DIR NAME CN SAN[,SAN]   DIR/NAME.key + DIR/NAME.crt
#
# A leaf is (re)issued when it is missing, when its SAN list differs from
# the one asked for (a host changed address), or when it expires within
# RENEW_DAYS: renewal is a re-run of site.yml. The CA is never replaced by
# this script; replacing it means re-issuing everything (docs/security.md).
set -euo pipefail

ca_days=${CA_DAYS:-3650}
leaf_days=${LEAF_DAYS:-365}
renew_days=${RENEW_DAYS:-30}

usage() { echo "usage: $0 ca DIR | leaf DIR NAME CN SANS" >&2; exit 2; }
[ $# -ge 2 ] || usage
mode=$1 dir=$2
umask 077
mkdir -p "$dir"

# P-256 keys: small, fast handshakes, accepted by Consul, HAProxy and curl.
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

case $mode in
  ca)
    [ -s "$dir/ca.key" ] && [ -s "$dir/ca.crt" ] && exit 0
    new_key "$dir/ca.key"
    openssl req -x509 -new -key "$dir/ca.key" -days "$ca_days" -sha256 \
      -subj "/CN=$(basename "$(dirname "$dir")") cluster CA" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$dir/ca.crt"
    # The CA certificate is public: every host and client gets a copy.
    chmod 0644 "$dir/ca.crt"
    echo "issued $dir/ca.crt"
    ;;
  leaf)
    [ $# -eq 5 ] || usage
    name=$3 cn=$4 sans=$5
    key=$dir/$name.key crt=$dir/$name.crt
    if [ -s "$key" ] && [ -s "$crt" ] && [ "$(cat "$dir/$name.sans" 2>/dev/null)" = "$sans" ] &&
      openssl x509 -in "$crt" -noout -checkend $((renew_days * 86400)) >/dev/null &&
      openssl verify -CAfile "$dir/ca.crt" "$crt" >/dev/null 2>&1; then
      exit 0
    fi
    new_key "$key"
    extensions=$(mktemp)
    trap 'rm -f "$extensions"' EXIT
    printf '%s\n' \
      "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth,clientAuth" \
      "subjectAltName=$sans" >"$extensions"
    openssl req -new -key "$key" -subj "/CN=$cn" |
      openssl x509 -req -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
        -days "$leaf_days" -sha256 -extfile "$extensions" -out "$crt" 2>/dev/null
    printf '%s' "$sans" >"$dir/$name.sans"
    echo "issued $crt"
    ;;
  *) usage ;;
esac
