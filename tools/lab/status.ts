import { readFileSync } from "node:fs";
import { join } from "node:path";
import { backendName } from "../../lib/names.js";
import type { Topology } from "../topology/types.js";
import { docker, dockerExec } from "./docker.js";
import { labHosts, type LabHost } from "./hosts.js";
import { repo } from "./run.js";

/** Where Ansible keeps a cluster's generated secrets on the controller (gitignored). */
export const secretsDir = (topology: Topology) => join(repo, "secrets", topology.cluster.name);

/** One backend server as an LB's `show stat` reports it. */
export interface BackendRow {
  lb: string;
  server: string;
  addr: string;
  status: string;
  weight: string;
  /** The version the instance at addr registered with Consul (Meta.version); "-" when none is registered there. */
  version: string;
}

export interface LabStatus {
  hosts: { host: LabHost; state: string }[];
  members: { name: string; address: string; status: string }[];
  raft: { node: string; state: string; voter: boolean }[];
  vipHolders: string[];
  backends: BackendRow[];
}

const managementToken = (topology: Topology) => readFileSync(join(secretsDir(topology), "consul-management.token"), "utf8").trim();

/** Runs a Consul CLI command on a lab host with the management token given on stdin, never on a command line. */
function consulOn(container: string, topology: Topology, command: string): Promise<string> {
  return dockerExec(container, `CONSUL_HTTP_TOKEN=$(cat) consul ${command}`, managementToken(topology));
}

/** addr:port → the version each instance of the service registered (Meta.version), read from Consul's catalog. */
async function registeredVersions(container: string, topology: Topology): Promise<Map<string, string>> {
  const url = `http://127.0.0.1:8500/v1/catalog/service/${topology.service.name}`;
  const json = await dockerExec(container, `curl -sf -H "X-Consul-Token: $(cat)" ${url}`, managementToken(topology));
  const entries = JSON.parse(json) as { ServiceAddress: string; ServicePort: number; ServiceMeta?: Record<string, string> }[];
  return new Map(entries.map((e) => [`${e.ServiceAddress}:${e.ServicePort}`, e.ServiceMeta?.version ?? "?"]));
}

/**
 * Reads the lab's state from the hosts themselves: containers, Consul's
 * members and Raft peers, who holds the VIP, and both LBs' backend table.
 * A part that cannot be read is left empty rather than failing the rest.
 */
export async function readStatus(topology: Topology): Promise<LabStatus> {
  const hosts = labHosts(topology);
  const states = await Promise.all(
    hosts.map(async (host) => ({ host, state: (await docker(["inspect", "--format", "{{.State.Status}}", host.container]).catch(() => "absent")).trim() })),
  );
  const server = states.find((s) => s.host.group === "consul_servers" && s.state === "running")?.host.container;
  const members = server ? parseMembers(await consulOn(server, topology, "members").catch(() => "")) : [];
  const raft = server ? parseRaft(await consulOn(server, topology, "operator raft list-peers").catch(() => "")) : [];
  const versions = server ? await registeredVersions(server, topology).catch(() => new Map<string, string>()) : new Map<string, string>();
  const lbs = states.filter((s) => s.host.group === "lb" && s.state === "running").map((s) => s.host);
  const vipHolders: string[] = [];
  const backends: BackendRow[] = [];
  for (const lb of lbs) {
    const addrs = await dockerExec(lb.container, "ip -4 -o addr show").catch(() => "");
    if (addrs.includes(` ${topology.vip.address}/`)) vipHolders.push(lb.name);
    const csv = await dockerExec(lb.container, "echo 'show stat' | socat stdio /run/haproxy/admin.sock").catch(() => "");
    backends.push(...parseStat(lb.name, backendName(topology.service.name), csv).map((b) => ({ ...b, version: versions.get(b.addr) ?? "-" })));
  }
  return { hosts: states, members, raft, vipHolders, backends };
}

/** The whitespace-separated columns of a Consul CLI table, header skipped; rows with fewer than `columns` are dropped. */
function tableRows(text: string, columns: number): string[][] {
  return text
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= columns);
}

/** `consul members`: Node Address Status Type Build Protocol DC Partition Segment */
function parseMembers(text: string) {
  return tableRows(text, 3).map(([name, address, status]) => ({ name: name!, address: address!, status: status! }));
}

/** `consul operator raft list-peers`: Node ID Address State Voter RaftProtocol */
function parseRaft(text: string) {
  return tableRows(text, 6).map((f) => ({ node: f[0]!, state: f[3]!, voter: f[4] === "true" }));
}

/** `show stat` CSV rows of the service backend's servers that have an address (empty template slots are skipped). */
function parseStat(lb: string, backend: string, csv: string): Omit<BackendRow, "version">[] {
  const lines = csv.split("\n").filter(Boolean);
  const header = lines[0]?.replace(/^# /, "").split(",") ?? [];
  const col = (row: string[], name: string) => row[header.indexOf(name)] ?? "";
  return lines
    .slice(1)
    .map((l) => l.split(","))
    .filter((row) => col(row, "pxname") === backend && !["BACKEND", "FRONTEND"].includes(col(row, "svname")))
    .map((row) => ({ lb, server: col(row, "svname"), addr: col(row, "addr"), status: col(row, "status"), weight: col(row, "weight") }))
    .filter((r) => r.addr !== "" && !r.addr.startsWith("0.0.0.0"));
}

/** The status as a few aligned tables for people. */
export function formatStatus(topology: Topology, s: LabStatus): string {
  const out: string[] = [];
  const table = (rows: string[][]) => {
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    for (const r of rows) out.push(r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
  };
  table([["HOST", "ADDRESS", "GROUP", "CONTAINER", "STATE"], ...s.hosts.map(({ host, state }) => [host.name, host.address, host.group, host.container, state])]);
  out.push("");
  const alive = s.members.filter((m) => m.status === "alive").length;
  const leader = s.raft.find((p) => p.state === "leader")?.node ?? "none";
  out.push(`Consul: ${alive}/${s.members.length} members alive; leader ${leader}; ${s.raft.filter((p) => p.voter).length} voters`);
  out.push(`VIP ${topology.vip.address}: held by ${s.vipHolders.length > 0 ? s.vipHolders.join(", ") : "nobody"}`);
  out.push("");
  if (s.backends.length > 0) table([["LB", "SLOT", "BACKEND", "STATUS", "WEIGHT", "VERSION"], ...s.backends.map((b) => [b.lb, b.server, b.addr, b.status, b.weight, b.version])]);
  else out.push("HAProxy: no backend rows (LBs not provisioned yet?)");
  return out.join("\n");
}
