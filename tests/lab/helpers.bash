# shellcheck shell=bash
# Shared by the lab's test files (load helpers).
# shellcheck disable=SC2154 # status and output are set by bats' run

# site.yml against the suite's lab changes nothing and fails nothing on any
# host, localhost's secrets play included.
site_changes_nothing() {
  run env ANSIBLE_CONFIG=ansible/ansible.cfg ansible-playbook -i ".lab/$CLUSTER/inventory.yml" ansible/site.yml -e "topology_file=$PWD/$TOPOLOGY"
  [ "$status" -eq 0 ]
  local recap
  recap=$(sed -n '/PLAY RECAP/,$p' <<<"$output" | grep -E 'ok=[0-9]+')
  echo "$recap"
  [ "$(grep -c . <<<"$recap")" -ge 9 ]
  run grep -cvE 'changed=0 .*failed=0' <<<"$recap"
  [ "$output" = "0" ]
}
