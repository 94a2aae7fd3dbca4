/**
 * Shapes shared by the topology validator. `Topology` mirrors
 * configs/topology.schema.json: a document that passed the schema is one.
 */

/** A machine with a name and an address: a Consul server or an app host. */
export interface Host {
  name: string;
  address: string;
}

/** A load balancer: a host plus its VRRP priority. */
interface LoadBalancerNode extends Host {
  priority: number;
}

/** configs/topology.yml, after schema validation. */
export interface Topology {
  cluster: { name: string; datacenter: string };
  network: { subnet: string; gateway: string };
  vip: { address: string; virtual_router_id: number; advert_interval: number };
  consul: { version: string; servers: Host[] };
  load_balancers: { frontend_port: number; stats_port: number; nodes: LoadBalancerNode[] };
  app: { hosts: Host[] };
  service: { name: string; port: number; image: string; version: string };
  deploy: { batch_size: number; slow_start_seconds: number; drain_timeout_seconds: number; verify_seconds?: number; canary_weight?: number; canary_seconds?: number };
  /** Vagrant only (Vagrantfile): every VM's size and the management network. */
  vms?: { memory_mb?: number; cpus?: number; management_subnet?: string };
}

/** Keys and list indexes from the document root to a node, e.g. ["app", "hosts", 1, "address"]. */
export type Path = readonly (string | number)[];

/**
 * A problem found by the schema or a rule, before it is given a position.
 * Checks only name the path; the loader maps it to a line and column, so no
 * check needs to know about YAML.
 */
export interface Finding {
  rule: string;
  path: Path;
  /**
   * "key" points at the key that owns the node (for a missing or unknown key,
   * or a whole list); "value" (the default) at the value itself.
   */
  at?: "key" | "value";
  message: string;
  fix: string;
}

/** One reported problem, positioned in the file (line and column are 1-based). */
export interface TopologyError {
  file: string;
  line: number;
  column: number;
  rule: string;
  message: string;
  fix: string;
}

/** What validating a topology yields: the typed document, or every problem found. */
export type LoadResult = { ok: true; topology: Topology } | { ok: false; errors: TopologyError[] };
