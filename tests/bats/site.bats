#!/usr/bin/env bats
# site.yml's first play: the topology is validated on the controller before
# any host is touched. The inventory points every host at a closed loopback
# port, so a play that did get past the check could reach nothing.

bats_require_minimum_version 1.5.0
load helpers

setup() {
  cd "$BATS_TEST_DIRNAME/../.." || return
  inventory=$(unreachable_inventory)
}

@test "site.yml stops on an invalid topology with the validator's file:line:column message, before any host" {
  local topology="$PWD/tests/fixtures/topology/duplicate-address.yml"
  run env ANSIBLE_CONFIG=ansible/ansible.cfg ANSIBLE_NOCOLOR=1 \
    ansible-playbook -i "$inventory" ansible/site.yml -e "topology_file=$topology"
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"duplicate-address.yml:"[0-9]*":"[0-9]*": "* ]]
  [[ "$output" == *"Validate the topology before touching any host."* ]]
  # No play past the check ran: nothing was gathered or tried on a host.
  [[ "$output" != *"Gathering Facts"* ]]
  [[ "$output" != *"UNREACHABLE"* ]]
}
