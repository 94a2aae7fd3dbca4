/** What the Vagrantfile builds from a topology: the VMs, their networks and sizes, and their inventory. */
import { join, resolve } from "node:path";
import { labHosts } from "../lab/hosts.js";
import { renderInventory } from "../lab/inventory.js";
import { repo } from "../lab/run.js";
import type { Topology } from "../topology/types.js";

/** Sizes a VM gets when the topology's optional `vms` section does not say. */
export const VM_DEFAULTS = { memory_mb: 512, cpus: 1, management_subnet: "192.168.121.0/24" } as const;

export interface VagrantPlan {
  cluster: string;
  topology_file: string;
  inventory: string;
  /** The VMs' SSH host keys, recorded at first contact (ansible/known-hosts.yml); the Vagrantfile forgets a VM's on destroy. */
  known_hosts: string;
  /** The libvirt network carrying network.subnet; isolated, no route out. */
  network: { name: string; subnet: string; gateway: string };
  /** Vagrant's own network (DHCP, `vagrant ssh`); isolated too. */
  management: { name: string; subnet: string };
  vms: { name: string; address: string; group: string; memory_mb: number; cpus: number }[];
}

/**
 * Health-check timings for VMs whose CPU is emulated (QEMU without KVM),
 * passed as inventory variables to the roles. With the roles' defaults, seven
 * such VMs on 2 host cores spend nearly all of them on checks alone (measured:
 * keepalived's curl every second ~25 % of a host core per LB, the service
 * with its checks ~38 % per app host, most of it Docker's HEALTHCHECK
 * starting a node process every 5 s), and starved Consul agents start to flap.
 * docs/vagrant.md has the numbers. Real machines keep the defaults.
 */
export const EMULATED_TIMINGS = {
  keepalived_check_interval: 5,
  keepalived_check_timeout: 4,
  haproxy_check_interval: "2s",
  haproxy_check_timeout: "2s",
  // With observe layer4, one connect that outlasts this marks a server DOWN;
  // at 200 ms the halting LB answered 503 (no server) in a cold CI run.
  haproxy_timeout_connect: "2s",
  cabify_check_interval_seconds: 3,
  cabify_check_timeout_seconds: 2,
  cabify_docker_healthcheck: false,
  // Consul's own default: the leader's heartbeats every 100 ms (multiplier 1)
  // kept each emulated server at ~15 % of a host core while idle.
  consul_raft_multiplier: 5,
} as const;

/** Where the project keeps a cluster's VM files: beside Vagrant's own state, out of git. */
const vagrantClusterDir = (topology: Topology) => join(repo, ".vagrant", "cabify-ha", topology.cluster.name);

/** The VMs' inventory. */
export const vagrantInventory = (topology: Topology) => join(vagrantClusterDir(topology), "inventory.yml");

/** The VMs' SSH host keys, beside their inventory. */
export const vagrantKnownHosts = (topology: Topology) => join(vagrantClusterDir(topology), "known_hosts");

export function vagrantPlan(topology: Topology, topologyFile: string): VagrantPlan {
  const size = { ...VM_DEFAULTS, ...topology.vms };
  const name = topology.cluster.name;
  return {
    cluster: name,
    topology_file: resolve(topologyFile),
    inventory: vagrantInventory(topology),
    known_hosts: vagrantKnownHosts(topology),
    network: { name: `${name}-net`, subnet: topology.network.subnet, gateway: topology.network.gateway },
    management: { name: `${name}-vagrant`, subnet: size.management_subnet },
    vms: labHosts(topology).map((h) => ({ name: h.name, address: h.address, group: h.group, memory_mb: size.memory_mb, cpus: size.cpus })),
  };
}

/** The VMs' Ansible inventory: SSH as Vagrant's user with its key, and the emulation timings when `emulated`. */
export function renderVagrantInventory(topology: Topology, sshKey: string, emulated: boolean): string {
  // Each VM makes its own host key at first boot; site.yml records it at
  // first contact (ansible/known-hosts.yml) and ssh checks it from then on.
  const knownHosts = vagrantKnownHosts(topology);
  return renderInventory(topology, "ssh", {
    ansible_user: "vagrant",
    ansible_become: true,
    ansible_ssh_private_key_file: sshKey,
    ansible_ssh_common_args: `-o UserKnownHostsFile=${knownHosts}`,
    ssh_known_hosts_file: knownHosts,
    ...(emulated ? EMULATED_TIMINGS : {}),
  });
}
