# shellcheck shell=bash
# Shared by the playbook tests (load helpers).

# Writes an inventory whose every host is a closed loopback port, so a play
# that got past the controller's checks could reach nothing; prints its path.
unreachable_inventory() {
  local inventory="$BATS_TEST_TMPDIR/inventory.ini"
  {
    for group in consul_servers lb app; do
      printf '[%s]\n%s-1 ansible_host=127.0.0.1 ansible_port=1\n' "$group" "$group"
    done
    printf '[consul_clients:children]\nlb\napp\n'
  } >"$inventory"
  echo "$inventory"
}
