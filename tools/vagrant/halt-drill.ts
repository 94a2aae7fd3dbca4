/**
 * `npm run vagrant:drill -- [--topology FILE] [--report DIR]`: the failover
 * drill on Vagrant VMs. Counted clients run against the VIP while the VM
 * holding it is halted (`vagrant halt`: a clean shutdown, as in maintenance);
 * every request is counted, before the halt (the baseline) and from the halt
 * until 5 s after the node is down. The node stays down: `vagrant up` it
 * again. Writes halt-drill.json and halt-drill.svg into the report
 * directory; fails if the VIP did not move.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { vipClients } from "../drill/run.js";
import { repo } from "../lab/run.js";
import { summarize, type LoadSummary, type RequestRecord } from "../load/load.js";
import { renderTimeline, type TimelineEvent } from "../load/timeline.js";
import { loadTopology } from "../topology/load.js";
import type { Topology } from "../topology/types.js";

/** Requests per second: new connection each, and keep-alive. VMs under emulation serve a few hundred at most. */
const RATES = { rate: 20, keepAliveRate: 5 };
/** Seconds of load before the halt, and after the halted node is down. */
const MARGIN_SECONDS = 5;
/** The load stops by itself after this, whatever happens. */
const MAX_LOAD_SECONDS = 600;

export interface HaltDrillReport {
  /** The LB halted (it held the VIP) and the one that took the VIP. */
  halted: string;
  takeover: string;
  /** Seconds from the halt command to this machine's neighbour table pointing the VIP at the other node (polled every 0.1 s). */
  vipMovedSeconds: number;
  /** Seconds `vagrant halt` took. */
  haltSeconds: number;
  /** New connection per request, 2 s timeout, no retry: before the halt, and from the halt to 5 s after the node is down. */
  baseline: LoadSummary;
  halt: LoadSummary;
  keepAlive: LoadSummary;
  rates: typeof RATES;
  /** Wall-clock time of the drill's 0 ms, to line its events up with the VMs' journals. */
  startedAt: string;
  events: TimelineEvent[];
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: repo, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.once("error", fail);
    child.once("close", (code) => done({ code: code ?? 1, stdout }));
  });
}

/** Opens (and drops) a TCP connection to `address`:22, so this machine resolves its MAC address; no tool needed. */
function touch(address: string): Promise<void> {
  return new Promise((done) => {
    const socket = connect({ host: address, port: 22, timeout: 1000 });
    const end = () => (socket.destroy(), done());
    socket.once("connect", end).once("timeout", end).once("error", end);
  });
}

/**
 * The MAC address this machine's neighbour table holds for `address` (after a
 * connection to it, so the entry exists). The VIP's entry follows keepalived's gratuitous
 * ARP, so comparing it with each LB's tells which one holds the VIP, without
 * running anything in the VMs: under emulation even a remote `ip addr` takes
 * CPU from the LB that is taking over.
 */
async function macOf(address: string): Promise<string | undefined> {
  await touch(address);
  return neighbourMac(address);
}

/** The MAC address this machine's neighbour table holds for `address` now, if any. */
async function neighbourMac(address: string): Promise<string | undefined> {
  const { stdout } = await run("ip", ["-4", "neigh", "show", address]);
  return /lladdr ([0-9a-f:]{17})/.exec(stdout)?.[1];
}

/** Runs the drill; writes halt-drill.json and halt-drill.svg (requests over time) into `reportDir`. */
export async function haltDrill(topology: Topology, topologyFile: string, reportDir: string, log: (line: string) => void): Promise<HaltDrillReport> {
  const vagrantEnv = { CABIFY_TOPOLOGY: resolve(topologyFile) };
  const vip = topology.vip.address;
  const nodes = await Promise.all(topology.load_balancers.nodes.map(async (n) => ({ name: n.name, mac: await macOf(n.address) })));
  const holderOfVip = async () => {
    const mac = await neighbourMac(vip);
    return mac === undefined ? undefined : nodes.find((n) => n.mac === mac);
  };
  await macOf(vip);
  const halted = await holderOfVip();
  if (!halted) throw new Error(`no load balancer's MAC address answers for ${vip} (${JSON.stringify(nodes)})`);

  const stop = new AbortController();
  const loads = vipClients(topology, MAX_LOAD_SECONDS, stop.signal, RATES);
  const startedAt = new Date().toISOString();
  const origin = performance.now();
  const now = () => performance.now() - origin;
  const events: TimelineEvent[] = [];
  const mark = (label: string) => {
    const atMs = now();
    events.push({ atMs, label });
    log(`${(atMs / 1000).toFixed(1)} s  ${label}`);
    return atMs;
  };
  let haltAt = 0, haltedAt = 0, movedAt: number | undefined, takeover = "";
  try {
    await sleep(MARGIN_SECONDS * 1000); // the baseline: part of the drill, not a wait for a condition
    haltAt = mark(`vagrant halt ${halted.name}`);
    const halting = run("vagrant", ["halt", halted.name], vagrantEnv);
    let haltDone = false;
    void halting.finally(() => (haltDone = true));
    while (movedAt === undefined && !haltDone) {
      const holder = await holderOfVip();
      if (holder && holder !== halted) {
        movedAt = mark(`VIP on ${holder.name}`);
        takeover = holder.name;
      }
      await sleep(100);
    }
    const halt = await halting;
    haltedAt = mark(halt.code === 0 ? `${halted.name} halted` : `vagrant halt exited ${halt.code}`);
    if (halt.code !== 0) throw new Error(`vagrant halt ${halted.name} exited ${halt.code}`);
    await sleep(MARGIN_SECONDS * 1000); // and the tail after it
    if (movedAt === undefined) {
      const holder = await holderOfVip();
      if (holder && holder !== halted) [movedAt, takeover] = [mark(`VIP on ${holder.name}`), holder.name];
    }
  } finally {
    stop.abort();
  }
  const [records, keepAlive] = await loads;
  if (movedAt === undefined) throw new Error(`the VIP never moved off ${halted.name}`);
  const report: HaltDrillReport = {
    halted: halted.name, takeover, vipMovedSeconds: (movedAt - haltAt) / 1000, haltSeconds: (haltedAt - haltAt) / 1000,
    baseline: summarize(records.filter((r: RequestRecord) => r.startMs < haltAt)), halt: summarize(records.filter((r) => r.startMs >= haltAt)),
    keepAlive: summarize(keepAlive), rates: RATES, startedAt, events,
  };
  mkdirSync(reportDir, { recursive: true });
  writeFileSync(join(reportDir, "halt-drill.json"), `${JSON.stringify(report, null, 1)}\n`);
  writeFileSync(join(reportDir, "halt-drill.svg"), renderTimeline(records, events, `vagrant halt ${halted.name} under load`));
  return report;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { topology: { type: "string", default: process.env.CABIFY_TOPOLOGY ?? "configs/topology.yml" }, report: { type: "string", default: ".test-results/vagrant" } } });
  const file = values.topology;
  const loaded = await loadTopology(file);
  if (!loaded.ok) {
    console.error(`${file}: invalid topology; run npm run validate -- ${file}`);
    return 2;
  }
  const report = await haltDrill(loaded.topology, file, values.report, (line) => console.error(`[drill] ${line}`));
  const { halt, baseline } = report;
  console.log(`halt of ${report.halted}: VIP on ${report.takeover} after ${report.vipMovedSeconds.toFixed(2)} s; ` +
    `${halt.failed} of ${halt.sent} requests failed from the halt on (baseline: ${baseline.failed} of ${baseline.sent}); ` +
    `longest gap ${(halt.longestGapMs / 1000).toFixed(2)} s (baseline ${(baseline.longestGapMs / 1000).toFixed(2)} s)`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
