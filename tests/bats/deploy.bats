#!/usr/bin/env bats
# deploy.yml's checks on the controller, before any host is touched (the
# deploys themselves run against the lab in tests/lab/deploy.bats). The
# inventory points every host at a closed loopback port, so a play that did
# get past a check could reach nothing.

bats_require_minimum_version 1.5.0
load helpers

setup() {
  cd "$BATS_TEST_DIRNAME/../.." || return
  inventory=$(unreachable_inventory)
}

deploy() {
  run env ANSIBLE_NOCOLOR=1 ansible-playbook -i "$inventory" ansible/deploy.yml "$@"
  echo "$output"
}

nothing_reached_a_host() {
  [[ "$output" != *"Gathering Facts"* ]]
  [[ "$output" != *"UNREACHABLE"* ]]
}

@test "deploy.yml stops on an invalid topology with the validator's file:line:column message" {
  deploy -e version=0.2.0 -e "topology_file=$PWD/tests/fixtures/topology/duplicate-address.yml"
  [ "$status" -ne 0 ]
  [[ "$output" == *"duplicate-address.yml:"[0-9]*":"[0-9]*": "* ]]
  nothing_reached_a_host
}

@test "deploy.yml without a version, or with an unknown strategy, stops with its usage" {
  deploy
  [ "$status" -ne 0 ]
  [[ "$output" == *"usage: ansible-playbook ansible/deploy.yml -e version=X.Y.Z"* ]]
  nothing_reached_a_host
  deploy -e version=0.2.0 -e deploy_strategy=big-bang
  [ "$status" -ne 0 ]
  [[ "$output" == *"strategy=big-bang"* ]]
  nothing_reached_a_host
}

@test "deploy.yml of a version never built says how to build it" {
  deploy -e version=9.8.7
  [ "$status" -ne 0 ]
  [[ "$output" == *"Build that release first: scripts/build-images.sh --version 9.8.7"* ]]
  nothing_reached_a_host
}

@test "ansible.cfg is found from the repository root and from ansible/, with the lab's inventory as the default" {
  run ansible-config dump --only-changed
  [[ "$output" == *"DEFAULT_HOST_LIST($PWD/ansible.cfg) = ['$PWD/.lab/cabify/inventory.yml']"* ]]
  cd ansible
  run ansible-config dump --only-changed
  [[ "$output" == *"DEFAULT_HOST_LIST($PWD/ansible.cfg) = ['$PWD/.lab/cabify/inventory.yml']"* ]]
  # ansible/.lab is the root's .lab: one inventory either way.
  [ "$(realpath .lab)" = "$(realpath ../.lab)" ]
}
