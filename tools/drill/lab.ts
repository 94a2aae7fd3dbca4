import { setTimeout as sleep } from "node:timers/promises";
import { backendName } from "../../lib/names.js";
import type { Topology } from "../topology/types.js";
import { consulHttps } from "../lab/consul-https.js";
import { docker, dockerExec } from "../lab/docker.js";
import { labHosts, type LabHost } from "../lab/hosts.js";

/**
 * What a drill needs to see and break in a running lab, read from the hosts
 * themselves (this machine reaches the lab network directly).
 */
export interface DrillLab {
  readonly topology: Topology;
  host(name: string): LabHost;
  readonly lbs: LabHost[];
  readonly apps: LabHost[];
  readonly servers: LabHost[];
  /** The LBs that have the VIP configured right now. */
  vipHolders(): Promise<string[]>;
  /** HAProxy's status (UP, DOWN, MAINT, DRAIN, ...) of the slot serving `app` on `lb`; undefined when it has none. */
  backendStatus(lb: LabHost, app: LabHost): Promise<string | undefined>;
  /** The Raft leader as the running servers name it, when they agree. */
  consulLeader(): Promise<string | undefined>;
  exec(host: LabHost, script: string): Promise<string>;
  /** What is not as a healthy lab should be; empty when all is well. */
  problems(): Promise<string[]>;
  /** Starts, unpauses and reconnects whatever a drill left broken, then waits (bounded) until no problem is left. */
  restore(timeoutMs?: number): Promise<void>;
}

/** The iptables rules app-partition adds: every packet on the lab interface dropped, loopback untouched. */
export const PARTITION_RULES = ["INPUT -i eth0 -j DROP", "OUTPUT -o eth0 -j DROP"];

export function drillLab(topology: Topology): DrillLab {
  const hosts = labHosts(topology);
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const port = topology.service.port;
  const backend = backendName(topology.service.name);
  const consul = consulHttps(topology);

  const state = async (host: LabHost) => (await docker(["inspect", "--format", "{{.State.Status}}", host.container]).catch(() => "absent")).trim();

  const lab: DrillLab = {
    topology,
    host(name) {
      const host = byName.get(name);
      if (!host) throw new Error(`no host ${name} in the topology`);
      return host;
    },
    lbs: hosts.filter((h) => h.group === "lb"),
    apps: hosts.filter((h) => h.group === "app"),
    servers: hosts.filter((h) => h.group === "consul_servers"),

    async vipHolders() {
      const holders = await Promise.all(
        lab.lbs.map(async (lb) => ((await dockerExec(lb.container, "ip -4 -o addr show").catch(() => "")).includes(` ${topology.vip.address}/`) ? lb.name : undefined)),
      );
      return holders.filter((h): h is string => h !== undefined);
    },

    async backendStatus(lb, app) {
      const csv = await dockerExec(lb.container, "echo 'show stat' | socat stdio /run/haproxy/admin.sock").catch(() => "");
      const [header, ...rows] = csv.split("\n");
      const columns = (header ?? "").replace(/^# /, "").split(",");
      const at = (row: string[], name: string) => row[columns.indexOf(name)];
      return rows.map((r) => r.split(",")).find((row) => row[0] === backend && at(row, "addr") === `${app.address}:${port}`)?.[columns.indexOf("status")];
    },

    async consulLeader() {
      const named = await Promise.all(
        lab.servers.map(async (server) => {
          try {
            // Short: a killed server does not answer at all, and one slow
            // probe would make every poll of a drill that slow.
            const res = await consul.get(server.address, "/v1/status/leader", 250);
            const address = res.status === 200 ? (JSON.parse(res.body) as string) : "";
            return lab.servers.find((s) => address === `${s.address}:8300`)?.name;
          } catch {
            return undefined;
          }
        }),
      );
      const answers = named.filter((n): n is string => n !== undefined);
      return answers.length > 0 && answers.every((n) => n === answers[0]) ? answers[0] : undefined;
    },

    exec: (host, script) => dockerExec(host.container, script),

    async problems() {
      const found: string[] = [];
      for (const host of hosts) {
        const s = await state(host);
        if (s !== "running") found.push(`${host.name} is ${s}`);
      }
      if (found.length > 0) return found;
      const holders = await lab.vipHolders();
      if (holders.length !== 1) found.push(`VIP held by ${holders.length} LBs (${holders.join(", ") || "none"})`);
      if (!(await lab.consulLeader())) found.push("no Raft leader all servers agree on");
      for (const lb of lab.lbs) {
        for (const app of lab.apps) {
          const status = await lab.backendStatus(lb, app);
          if (status !== "UP") found.push(`${app.name} is ${status ?? "absent"} on ${lb.name}`);
        }
      }
      return found;
    },

    async restore(timeoutMs = 120_000) {
      for (const host of hosts) {
        const s = await state(host);
        if (s === "paused") await docker(["unpause", host.container]);
        else if (s !== "running") await docker(["start", host.container]);
      }
      // Daemons a drill stopped or killed (starting an active unit does nothing),
      // and a partition's rules (deleting an absent rule fails harmlessly).
      for (const lb of lab.lbs) await dockerExec(lb.container, "systemctl start haproxy keepalived").catch(() => "");
      for (const app of lab.apps) {
        await dockerExec(app.container, PARTITION_RULES.map((r) => `iptables -D ${r} 2>/dev/null`).join("; ") + "; true").catch(() => "");
      }
      const deadline = Date.now() + timeoutMs;
      let left = await lab.problems();
      while (left.length > 0) {
        if (Date.now() > deadline) throw new Error(`the lab is not healthy after ${timeoutMs / 1000} s: ${left.join("; ")}`);
        await sleep(250);
        left = await lab.problems();
      }
    },
  };
  return lab;
}
