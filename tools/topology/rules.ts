/**
 * Semantic rules: what the schema cannot say because it spans several
 * fields. Each rule has a stable id (scripts and tests match on it) and only
 * runs on a document that passed the schema, so it may trust the types.
 * Rules name paths; the loader turns them into lines and columns.
 */
import { CONSUL_VERSION } from "./constants.js";
import { broadcastAddress, cidrContains, formatCidr, formatIPv4, networkAddress, parseCidr, parseIPv4, type Cidr } from "./ip.js";
import { label } from "./locate.js";
import type { Finding, Host, Path, Topology } from "./types.js";

/** A finding before the rule id is attached: rules only say what and where. */
type Issue = Omit<Finding, "rule">;

interface Rule {
  id: string;
  check(topology: Topology): Issue[];
}

/** Something that has an address: a host, the gateway or the VIP. */
interface Addressed {
  /** How messages name it: a host's name, "the gateway", "the VIP". */
  owner: string;
  address: string;
  /** Path to the address value. */
  path: Path;
}

/** Every host, with the path to its entry, in document order. */
function hosts(t: Topology): (Host & { path: Path })[] {
  const group = (list: Host[], base: Path) => list.map((host, i) => ({ ...host, path: [...base, i] }));
  return [
    ...group(t.consul.servers, ["consul", "servers"]),
    ...group(t.load_balancers.nodes, ["load_balancers", "nodes"]),
    ...group(t.app.hosts, ["app", "hosts"]),
  ];
}

function hostAddresses(t: Topology): Addressed[] {
  return hosts(t).map((h) => ({ owner: h.name, address: h.address, path: [...h.path, "address"] }));
}

const gateway = (t: Topology): Addressed => ({ owner: "the gateway", address: t.network.gateway, path: ["network", "gateway"] });
const vip = (t: Topology): Addressed => ({ owner: "the VIP", address: t.vip.address, path: ["vip", "address"] });

/** Each later item whose key an earlier item already had, paired with that earlier item. */
function repeats<T>(items: readonly T[], key: (item: T) => unknown): [repeat: T, first: T][] {
  const seen = new Map<unknown, T>();
  const found: [T, T][] = [];
  for (const item of items) {
    const first = seen.get(key(item));
    if (first === undefined) seen.set(key(item), item);
    else found.push([item, first]);
  }
  return found;
}

/**
 * Runs `test` on each address with the parsed subnet. The schema guarantees
 * both parse; the guards only satisfy the types.
 */
function checkAddresses(
  t: Topology,
  items: Addressed[],
  test: (item: Addressed, address: number, subnet: Cidr) => Omit<Issue, "path"> | undefined,
): Issue[] {
  const subnet = parseCidr(t.network.subnet);
  if (!subnet) return [];
  return items.flatMap((item) => {
    const address = parseIPv4(item.address);
    const issue = address === undefined ? undefined : test(item, address, subnet);
    return issue ? [{ path: item.path, ...issue }] : [];
  });
}

/** Ranges no LAN subnet can use: the kernel and Docker refuse or mis-route them. */
const SPECIAL_RANGES = [
  ["0.0.0.0/8", "\"this network\""],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"],
] as const;

export const RULES: readonly Rule[] = [
  {
    // Raft needs a majority: 4 servers tolerate 1 failure like 3 do, but
    // need 3 votes per write instead of 2. An even count only costs.
    id: "consul-servers-odd",
    check: (t) => {
      const n = t.consul.servers.length;
      if (n % 2 === 1) return [];
      return [{
        path: ["consul", "servers"],
        at: "key",
        message: `consul.servers has ${n} servers; an even count adds no fault tolerance over ${n - 1}`,
        fix: `use ${n - 1} or ${n + 1} servers: an odd count >= 3 (3 survive 1 failure, 5 survive 2)`,
      }];
    },
  },
  {
    // Names become container names, inventory hostnames and Consul node
    // names: all three require them to be unique.
    id: "unique-names",
    check: (t) =>
      repeats(hosts(t), (h) => h.name).map(([repeat, first]) => ({
        path: [...repeat.path, "name"],
        message: `host name ${repeat.name} of ${label(repeat.path)} is already used by ${label(first.path)}`,
        fix: "rename one of them: names must be unique across consul.servers, load_balancers.nodes and app.hosts",
      })),
  },
  {
    id: "unique-addresses",
    check: (t) =>
      repeats(hosts(t), (h) => parseIPv4(h.address)).map(([repeat, first]) => ({
        path: [...repeat.path, "address"],
        message: `address ${repeat.address} of ${repeat.name} is already used by ${first.name}`,
        fix: `give ${repeat.name} a free address in ${t.network.subnet}`,
      })),
  },
  {
    // Below /8 no private range fits; /31 and /32 leave no room for a
    // gateway, a VIP and hosts. Host bits set usually mean a typo.
    id: "subnet-network-address",
    check: (t) => {
      const subnet = parseCidr(t.network.subnet);
      if (!subnet) return [];
      const path = ["network", "subnet"];
      if (subnet.prefix < 8 || subnet.prefix > 30) {
        return [{
          path,
          message: `subnet ${t.network.subnet} has prefix /${subnet.prefix}, outside /8 to /30`,
          fix: "use a prefix from /8 to /30, e.g. /24 for 254 addresses",
        }];
      }
      if (networkAddress(subnet) === subnet.address) return [];
      return [{
        path,
        message: `subnet ${t.network.subnet} is not a network address: its host bits are set`,
        fix: `write network.subnet as ${formatCidr(subnet)}`,
      }];
    },
  },
  {
    // Added rule: a subnet in loopback, link-local, multicast or reserved
    // space passes every other check yet cannot carry the cluster (VRRP
    // itself speaks on multicast 224.0.0.18). Better to say so here than
    // have Docker or keepalived fail obscurely.
    id: "subnet-usable-range",
    check: (t) => {
      const subnet = parseCidr(t.network.subnet);
      if (!subnet) return [];
      const hit = SPECIAL_RANGES.find(([range]) => {
        const special = parseCidr(range);
        return special !== undefined && overlaps(special, subnet);
      });
      if (!hit) return [];
      return [{
        path: ["network", "subnet"],
        message: `subnet ${t.network.subnet} overlaps the ${hit[1]} range ${hit[0]}`,
        fix: "use a private range: 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
      }];
    },
  },
  {
    id: "address-in-subnet",
    check: (t) =>
      checkAddresses(t, [gateway(t), vip(t), ...hostAddresses(t)], (item, address, subnet) =>
        cidrContains(subnet, address) ? undefined : {
          message: `address ${item.address} of ${item.owner} is outside subnet ${t.network.subnet}`,
          fix: `use an address in ${t.network.subnet} or widen network.subnet`,
        }),
  },
  {
    // The network and broadcast addresses are not assignable; the gateway's
    // is taken by the router (the Docker bridge in the lab).
    id: "address-reserved",
    check: (t) => {
      const gw = gateway(t);
      return checkAddresses(t, [gw, vip(t), ...hostAddresses(t)], (item, address, subnet) => {
        const network = networkAddress(subnet);
        const broadcast = broadcastAddress(subnet);
        const what =
          address === network ? `the network address of ${t.network.subnet}`
          : address === broadcast ? `the broadcast address of ${t.network.subnet}`
          : item !== gw && address === parseIPv4(gw.address) ? "the gateway's address"
          : undefined;
        return what === undefined ? undefined : {
          message: `address ${item.address} of ${item.owner} is ${what}`,
          fix: `pick another address in ${t.network.subnet}: not its network (${formatIPv4(network)}), broadcast (${formatIPv4(broadcast)}) or gateway (${gw.address}) address`,
        };
      });
    },
  },
  {
    // keepalived adds the VIP beside each LB node's own address; if a host
    // already owns it, ARP flips traffic between the two.
    id: "vip-not-host",
    check: (t) => {
      const owner = hosts(t).find((h) => parseIPv4(h.address) === parseIPv4(t.vip.address));
      if (!owner) return [];
      return [{
        path: ["vip", "address"],
        message: `VIP ${t.vip.address} is also the address of ${owner.name}`,
        fix: `pick a free address in ${t.network.subnet} for vip.address`,
      }];
    },
  },
  {
    // On a priority tie VRRP elects the node with the higher IP address:
    // legal, but nobody reading the file would predict it.
    id: "lb-priorities-distinct",
    check: (t) =>
      repeats(t.load_balancers.nodes.map((n, i) => ({ ...n, i })), (n) => n.priority).map(([repeat, first]) => ({
        path: ["load_balancers", "nodes", repeat.i, "priority"],
        message: `priority ${repeat.priority} of ${repeat.name} is the same as ${first.name}'s`,
        fix: "give each load balancer a distinct priority; the highest holds the VIP",
      })),
  },
  {
    // A batch as large as the fleet drains every host at once: an outage.
    id: "batch-size-below-hosts",
    check: (t) => {
      const n = t.app.hosts.length;
      if (t.deploy.batch_size < n) return [];
      return [{
        path: ["deploy", "batch_size"],
        message: `deploy.batch_size is ${t.deploy.batch_size} but there are only ${n} app hosts, so a batch would leave none serving`,
        fix: `set deploy.batch_size to at most ${n - 1}`,
      }];
    },
  },
  {
    // In small setups an LB node may share a machine with an app instance,
    // so all three listening ports must differ.
    id: "ports-distinct",
    check: (t) => {
      const ports = [
        { path: ["load_balancers", "frontend_port"], port: t.load_balancers.frontend_port },
        { path: ["load_balancers", "stats_port"], port: t.load_balancers.stats_port },
        { path: ["service", "port"], port: t.service.port },
      ];
      return repeats(ports, (p) => p.port).map(([repeat, first]) => ({
        path: repeat.path,
        message: `${label(repeat.path)} ${repeat.port} is the same as ${label(first.path)}`,
        fix: "use distinct ports for load_balancers.frontend_port, load_balancers.stats_port and service.port",
      }));
    },
  },
  {
    id: "consul-version-pinned",
    check: (t) =>
      t.consul.version === CONSUL_VERSION ? [] : [{
        path: ["consul", "version"],
        message: `consul.version is ${t.consul.version} but the project builds Consul ${CONSUL_VERSION}`,
        fix: `set consul.version to ${CONSUL_VERSION} (to upgrade, change CONSUL_VERSION in versions.env and build/consul/go.mod together)`,
      }],
  },
  {
    // Added rule: VRRPv3 (needed for sub-second adverts) carries the interval
    // as a 12-bit count of centiseconds, so only multiples of 0.01 up to
    // 40.95 s exist; keepalived silently rounds or clamps anything else.
    id: "advert-interval-vrrp3",
    check: (t) => {
      const centiseconds = t.vip.advert_interval * 100;
      if (Math.abs(centiseconds - Math.round(centiseconds)) < 1e-6 && centiseconds <= 4095) return [];
      return [{
        path: ["vip", "advert_interval"],
        message: `vip.advert_interval ${t.vip.advert_interval} is not a VRRPv3 interval (a multiple of 0.01 s, at most 40.95 s)`,
        fix: "use a multiple of 0.01 from 0.01 to 40.95, e.g. 0.1 or 1",
      }];
    },
  },
  {
    // Vagrant's management network and the cluster network are two libvirt
    // networks on this machine: if they overlap, routes to one shadow the other.
    id: "vms-management-subnet-apart",
    check: (t) => {
      const management = t.vms?.management_subnet === undefined ? undefined : parseCidr(t.vms.management_subnet);
      const cluster = parseCidr(t.network.subnet);
      if (!management || !cluster || !overlaps(management, cluster)) return [];
      return [{
        path: ["vms", "management_subnet"],
        message: `vms.management_subnet ${t.vms!.management_subnet} overlaps network.subnet ${t.network.subnet}`,
        fix: "pick a management subnet apart from network.subnet, e.g. 192.168.121.0/24 (the default)",
      }];
    },
  },
];

/** True if two CIDRs share any address. */
function overlaps(a: Cidr, b: Cidr): boolean {
  const wider = a.prefix <= b.prefix ? a : b;
  const narrower = wider === a ? b : a;
  return cidrContains(wider, networkAddress(narrower));
}

/** Runs every rule, attaching its id to what it found. */
export function checkRules(topology: Topology): Finding[] {
  return RULES.flatMap((rule) => rule.check(topology).map((issue) => ({ rule: rule.id, ...issue })));
}
