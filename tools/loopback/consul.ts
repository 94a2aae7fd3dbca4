import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { exited, track } from "./processes.js";
import { tryGet, waitFor } from "./wait.js";

const repo = resolve(import.meta.dirname, "../..");

/** The pinned Consul binary: $CONSUL_BIN (set by scripts/test.sh) or built/cached on demand. */
function consulBinary(): string {
  const bin = process.env.CONSUL_BIN ?? execFileSync(join(repo, "scripts/ensure-consul.sh"), { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  process.env.CONSUL_BIN = bin;
  return bin;
}

export interface ConsulAgent {
  readonly name: string;
  readonly ip: string;
  readonly server: boolean;
  /** Base URL of this agent's HTTP API. */
  readonly http: string;
  readonly dataDir: string;
  readonly running: boolean;
  /** (Re)starts the agent; `wipe` empties its data dir first, as a replaced host would. */
  start(options?: { wipe?: boolean }): Promise<void>;
  /** SIGKILL: a crash, no graceful leave. */
  kill(): Promise<void>;
}

export interface ConsulCluster {
  /** The cluster's loopback /24, e.g. "127.77.42": tests put services at `${subnet}.31` and up. */
  readonly subnet: string;
  readonly servers: ConsulAgent[];
  readonly clients: ConsulAgent[];
  /**
   * The server that every server names as Raft leader, once they all agree.
   * A server that is down names nobody, so this waits for it to be back
   * rather than skipping it.
   */
  leader(): Promise<ConsulAgent>;
  /** The server `server` itself names as leader, or undefined when it names none or does not answer. */
  leaderSeenBy(server: ConsulAgent): Promise<ConsulAgent | undefined>;
  /**
   * Starts every agent that is not running, then waits until the servers
   * agree on a leader and every agent sees every other alive: the state a
   * test can start from whatever an earlier test did to the cluster.
   */
  whole(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real Consul quorum on loopback: 3 servers and `clients` client agents, each
 * on its own 127.77.R.x address (R random per cluster, so a leftover from an
 * earlier run cannot collide) with Consul's default ports, data in a temp dir.
 * Resolves once the servers agree on a leader and every agent has joined.
 *
 * @example
 * const cluster = await startConsulCluster({ clients: 1 });
 * const consulHttp = cluster.clients[0].http; // http://127.77.R.21:8500
 */
export async function startConsulCluster({ clients = 1 }: { clients?: number } = {}): Promise<ConsulCluster> {
  const binary = consulBinary();
  const root = mkdtempSync(join(tmpdir(), "cabify-consul-"));
  const subnet = `127.77.${1 + Math.floor(Math.random() * 250)}`;
  const serverIps = [11, 12, 13].map((n) => `${subnet}.${n}`);

  const make = (name: string, ip: string, server: boolean): ConsulAgent => {
    const dataDir = join(root, name, "data");
    const configFile = join(root, name, "agent.json");
    const logFile = join(root, name, "consul.log");
    // A fixed node ID lets an agent restarted with an empty data dir rejoin under
    // its old identity instead of fighting its own ghost for the node name.
    const nodeId = randomUUID();
    let child: ChildProcess | undefined;

    const agent: ConsulAgent = {
      name,
      ip,
      server,
      http: `http://${ip}:8500`,
      dataDir,
      get running() {
        return child !== undefined && child.exitCode === null && child.signalCode === null;
      },
      async start({ wipe = false } = {}) {
        if (wipe) rmSync(dataDir, { recursive: true, force: true });
        mkdirSync(dataDir, { recursive: true });
        writeFileSync(
          configFile,
          JSON.stringify({
            node_name: name,
            node_id: nodeId,
            datacenter: "dc1",
            data_dir: dataDir,
            server,
            ...(server ? { bootstrap_expect: 3 } : {}),
            bind_addr: ip,
            advertise_addr: ip,
            client_addr: ip,
            retry_join: serverIps,
            retry_interval: "1s",
            // Only what the tests use: HTTP, Serf LAN and server RPC.
            ports: { dns: -1, grpc: -1, grpc_tls: -1, serf_wan: -1 },
            // Production timing (the default, 5, is for slow dev laptops).
            performance: { raft_multiplier: 1 },
            disable_update_check: true,
            log_level: "warn",
          }),
        );
        const log = openSync(logFile, "a");
        child = track(spawn(binary, ["agent", `-config-file=${configFile}`], { stdio: ["ignore", log, log] }));
        await waitFor(`${name} HTTP API at ${agent.http}`, async () => (await tryGet(`${agent.http}/v1/agent/self`))?.ok);
      },
      async kill() {
        if (!child || !agent.running) return;
        const dying = exited(child);
        child.kill("SIGKILL");
        await dying;
      },
    };
    return agent;
  };

  const servers = serverIps.map((ip, i) => make(`consul-server-${i + 1}`, ip, true));
  const clientAgents = Array.from({ length: clients }, (_, i) => make(`consul-client-${i + 1}`, `${subnet}.${21 + i}`, false));
  const all = [...servers, ...clientAgents];

  const cluster: ConsulCluster = {
    subnet,
    servers,
    clients: clientAgents,
    async leaderSeenBy(server) {
      const res = await tryGet(`${server.http}/v1/status/leader`);
      const address = res?.ok ? ((await res.json()) as string) : "";
      return servers.find((s) => address === `${s.ip}:8300`);
    },
    async leader() {
      return waitFor("one Raft leader named by every server", async () => {
        const seen = await Promise.all(servers.map((s) => cluster.leaderSeenBy(s)));
        return seen[0] !== undefined && seen.every((l) => l === seen[0]) ? seen[0] : undefined;
      });
    },
    async whole() {
      await Promise.all(all.filter((a) => !a.running).map((a) => a.start()));
      await cluster.leader();
      // Asked of every agent, not one: an agent restarted a moment ago only
      // counts once it has itself rejoined, and the others have seen it back.
      await waitFor("every agent seeing every agent alive", async () => {
        const views = await Promise.all(all.map(async (a) => {
          const res = await tryGet(`${a.http}/v1/agent/members`);
          return res?.ok ? ((await res.json()) as { Name: string; Status: number }[]) : [];
        }));
        return views.every((members) => all.every((a) => members.some((m) => m.Name === a.name && m.Status === 1)));
      });
    },
    async stop() {
      await Promise.all(all.map((a) => a.kill()));
      rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    await cluster.whole();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
