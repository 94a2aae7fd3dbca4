#!/usr/bin/env bats
# The topology validator's CLI: exit codes (0 valid, 1 invalid, 2 unreadable
# or bad usage), compiler-style messages, and --json.

bats_require_minimum_version 1.5.0

setup() {
  cd "$BATS_TEST_DIRNAME/../.." || return
  REPO=$PWD
  FIXTURES=tests/fixtures/topology
}

teardown() {
  if [ -n "${LOCKED_DIR:-}" ]; then rm -rf "$LOCKED_DIR"; fi
}

# Straight to tsx rather than through npm: the same code, a second faster.
validate() {
  "$REPO/node_modules/.bin/tsx" "$REPO/tools/topology/cli.ts" "$@"
}

# bats sets $output and, with --separate-stderr, $stderr.
# shellcheck disable=SC2154

refute_stack_trace() {
  [[ "$output$stderr" != *"    at "* ]]
  [[ "$output$stderr" != *"node:internal"* ]]
}

@test "npm run validate checks configs/topology.yml by default and exits 0" {
  run --separate-stderr npm run --silent validate
  [ "$status" -eq 0 ]
  [ "$output" = "configs/topology.yml: valid (3 consul servers, 2 load balancers, 3 app hosts)" ]
}

@test "a valid fixture exits 0" {
  run validate "$FIXTURES/valid-5-servers.yml"
  [ "$status" -eq 0 ]
  [[ "$output" == *"valid (5 consul servers, 2 load balancers, 3 app hosts)"* ]]
}

@test "an invalid topology exits 1 with file:line:col, rule id and fix on stderr" {
  run --separate-stderr validate "$FIXTURES/host-outside-subnet.yml"
  [ "$status" -eq 1 ]
  [ -z "$output" ]
  [[ "$stderr" == *"$FIXTURES/host-outside-subnet.yml:37:31: error [address-in-subnet] address 10.77.1.32 of app-2 is outside subnet 10.77.0.0/24"* ]]
  [[ "$stderr" == *"    fix: use an address in 10.77.0.0/24 or widen network.subnet"* ]]
  [[ "$stderr" == *"invalid (1 error)"* ]]
}

@test "every error is reported, in file order" {
  run --separate-stderr validate "$FIXTURES/misspelled-key.yml"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *":18:1: error [schema/required]"*":21:3: error [schema/additionalProperties]"* ]]
}

@test "--json prints the errors on stdout and exits 1" {
  run --separate-stderr validate "$FIXTURES/even-consul-servers.yml" --json
  [ "$status" -eq 1 ]
  [ "$(jq -r .valid <<<"$output")" = "false" ]
  [ "$(jq -r .file <<<"$output")" = "$FIXTURES/even-consul-servers.yml" ]
  [ "$(jq -r '[.errors[] | "\(.line):\(.column) \(.rule)"] | join(",")' <<<"$output")" = "21:3 consul-servers-odd" ]
  [ "$(jq -r '.errors[0].fix | type' <<<"$output")" = "string" ]
}

@test "--json on a valid topology exits 0 with no errors" {
  run --separate-stderr validate --json
  [ "$status" -eq 0 ]
  [ "$(jq -r '.valid and (.errors | length == 0)' <<<"$output")" = "true" ]
}

@test "a missing file exits 2 naming the file and the reason" {
  run --separate-stderr validate nowhere/topology.yml
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"nowhere/topology.yml: cannot read: no such file or directory (ENOENT)"* ]]
  refute_stack_trace
}

@test "a directory exits 2" {
  run --separate-stderr validate configs
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"configs: cannot read: illegal operation on a directory (EISDIR)"* ]]
}

@test "an unreadable file exits 2" {
  # Root reads a file whatever its mode, so as root the CLI runs as nobody.
  # The file sits in a directory of its own that anyone may enter (bats' own
  # temp dirs are 0700), so the only thing that changes below is its mode.
  local as=()
  [ "$(id -u)" -ne 0 ] || as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  LOCKED_DIR=$(mktemp -d /tmp/validate-locked.XXXXXX)
  chmod 755 "$LOCKED_DIR"
  cp configs/topology.yml "$LOCKED_DIR/locked.yml"
  chmod 644 "$LOCKED_DIR/locked.yml"
  # The control: the same user reads the same file while it is readable.
  run "${as[@]}" env HOME="$LOCKED_DIR" "$REPO/node_modules/.bin/tsx" "$REPO/tools/topology/cli.ts" "$LOCKED_DIR/locked.yml"
  [ "$status" -eq 0 ] || skip "user nobody cannot run the CLI from $REPO: $output"
  chmod 000 "$LOCKED_DIR/locked.yml"
  run --separate-stderr "${as[@]}" env HOME="$LOCKED_DIR" "$REPO/node_modules/.bin/tsx" "$REPO/tools/topology/cli.ts" "$LOCKED_DIR/locked.yml"
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"locked.yml: cannot read: permission denied (EACCES)"* ]]
}

@test "an endless file exits 2 instead of exhausting memory" {
  run --separate-stderr validate /dev/zero
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"/dev/zero: cannot read: larger than 64 KiB"* ]]
}

@test "the default file is resolved against the current directory" {
  cd "$BATS_TEST_TMPDIR"
  run --separate-stderr validate
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"configs/topology.yml: cannot read: no such file or directory"* ]]
}

@test "an empty file is invalid, not a crash" {
  : >"$BATS_TEST_TMPDIR/empty.yml"
  run --separate-stderr validate "$BATS_TEST_TMPDIR/empty.yml"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"empty.yml:1:1: error [schema/type] the document must be a map"* ]]
  refute_stack_trace
}

@test "binary garbage is invalid, not a crash" {
  printf '\x00\x01\xff\xfe{[\x89PNG\r\n\x1a\n: :\t-' >"$BATS_TEST_TMPDIR/garbage.yml"
  run --separate-stderr validate "$BATS_TEST_TMPDIR/garbage.yml"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"garbage.yml:1:"*"error [yaml-syntax]"* ]]
  refute_stack_trace
}

@test "--help prints usage and exits 0" {
  run validate --help
  [ "$status" -eq 0 ]
  [[ "$output" == "Usage: npm run validate -- [file] [--json]"* ]]
  [[ "$output" == *"consul-servers-odd"* ]]
}

@test "an unknown option exits 2 with usage" {
  run --separate-stderr validate --strict
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"Unknown option '--strict'"*"Usage:"* ]]
}

@test "more than one file exits 2" {
  run --separate-stderr validate configs/topology.yml configs/topology.yml
  [ "$status" -eq 2 ]
  [[ "$stderr" == *"expected at most one file, got 2"* ]]
}
