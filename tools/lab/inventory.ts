import { stringify } from "yaml";
import type { Topology } from "../topology/types.js";
import { labHosts, type Group } from "./hosts.js";

export type Connection = "docker" | "ssh";

/**
 * The Ansible inventory for a topology. The only difference between the
 * container lab and real machines (or Vagrant VMs) is how Ansible reaches a
 * host: `docker exec` into the lab container, or SSH to its address (with
 * `connectionVars` such as the SSH user and key of Vagrant's VMs).
 *
 * @example
 * renderInventory(topology, "ssh") // "all:\n  children:\n    consul_servers: ..."
 */
export function renderInventory(topology: Topology, connection: Connection, connectionVars: Record<string, string | number | boolean> = {}): string {
  const groups: Record<Group, Record<string, Record<string, string | number | boolean>>> = { consul_servers: {}, lb: {}, app: {} };
  for (const host of labHosts(topology)) {
    groups[host.group][host.name] = {
      ansible_host: connection === "docker" ? host.container : host.address,
      // The host's address on the cluster network, whatever ansible_host is.
      node_address: host.address,
      // Per host, not under `all`: the implicit localhost inherits all's vars, and must not become or SSH.
      ...connectionVars,
    };
  }
  // The container lab's LBs share this machine's cores with every other host: one HAProxy thread contends less (docs/results.md).
  const vars: Record<string, string | number> = connection === "docker" ? { ansible_connection: "community.docker.docker", haproxy_nbthread: 1 } : { ansible_connection: "ssh" };
  const inventory = {
    all: {
      vars: { ...vars, ansible_python_interpreter: "/usr/bin/python3" },
      children: {
        consul_servers: { hosts: groups.consul_servers },
        // Every host that is not a Consul server runs a Consul client agent.
        consul_clients: { children: { lb: { hosts: groups.lb }, app: { hosts: groups.app } } },
      },
    },
  };
  return `# Generated from ${topology.cluster.name}'s topology (tools/lab/inventory.ts); do not edit, change the topology.\n${stringify(inventory)}`;
}
