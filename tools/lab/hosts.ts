import type { Topology } from "../topology/types.js";

/** The Ansible group a host belongs to; also what it runs. */
export type Group = "consul_servers" | "lb" | "app";

export interface LabHost {
  name: string;
  address: string;
  group: Group;
  /** Docker container name in the lab: `<cluster>-<host>`. */
  container: string;
}

/**
 * Every host the topology describes, in bring-up order (Consul servers
 * first: everything else joins them).
 *
 * @example
 * labHosts(topology).map((h) => h.container) // ["cabify-consul-1", ..., "cabify-app-3"]
 */
export function labHosts(topology: Topology): LabHost[] {
  const prefix = topology.cluster.name;
  const make = (group: Group) => (h: { name: string; address: string }): LabHost => ({ name: h.name, address: h.address, group, container: `${prefix}-${h.name}` });
  return [...topology.consul.servers.map(make("consul_servers")), ...topology.load_balancers.nodes.map(make("lb")), ...topology.app.hosts.map(make("app"))];
}

/** Names of everything the lab creates, all derived from the cluster name so two labs never collide. */
export function labNames(topology: Topology) {
  const name = topology.cluster.name;
  return { network: `${name}-net`, label: `cabify.lab=${name}`, client: `${name}-client`, dockerVolume: (host: LabHost) => `${host.container}-docker` };
}
