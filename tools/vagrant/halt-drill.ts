/**
 * `npm run vagrant:drill -- [--topology FILE] [--report DIR]`: the failover
 * drill on Vagrant VMs. Counted clients run against the VIP while the VM
 * holding it is halted (`vagrant halt`: a clean shutdown, as in maintenance)
 * and brought back (`vagrant up`); every request is counted and the phases
 * are reported apart: before the halt (the baseline), while the VIP moves, and
 * while the halted node returns (keepalived does not preempt: the VIP stays).
 * Writes halt-drill.json and halt-drill.svg into the report directory; exits
 * 1 if the VIP did not move.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
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
/** Seconds of load before the halt and after the node is back. */
const MARGIN_SECONDS = 5;
/** The load stops by itself after this, whatever happens. */
const MAX_LOAD_SECONDS = 600;

export interface HaltDrillReport {
  /** The LB halted (it held the VIP) and the one that took the VIP. */
  halted: string;
  takeover: string;
  /** Seconds from the halt command to the other node holding the VIP (polled over SSH, ~0.5 s apart). */
  vipMovedSeconds: number;
  haltSeconds: number;
  upSeconds: number;
  /** New connection per request, 2 s timeout, no retry: before the halt, during it, and while the node returns. */
  baseline: LoadSummary;
  halt: LoadSummary;
  back: LoadSummary;
  all: LoadSummary;
  keepAlive: LoadSummary;
  rates: typeof RATES;
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

/** Whether `address` holds the VIP, asked over SSH with Vagrant's key (one shared connection per host). */
async function holdsVip(address: string, vip: string): Promise<boolean> {
  const key = join(process.env.VAGRANT_HOME ?? join(homedir(), ".vagrant.d"), "insecure_private_key");
  const { code, stdout } = await run("ssh", [
    "-i", key, "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=error",
    "-o", "ConnectTimeout=2", "-o", "ControlMaster=auto", "-o", `ControlPath=/tmp/cabify-drill-%h`, "-o", "ControlPersist=120",
    `vagrant@${address}`, "ip -4 -o addr show",
  ]);
  return code === 0 && stdout.includes(` ${vip}/`);
}

/** Runs the drill; writes halt-drill.json and halt-drill.svg (requests over time) into `reportDir`. */
export async function haltDrill(topology: Topology, topologyFile: string, reportDir: string, log: (line: string) => void): Promise<HaltDrillReport> {
  const vagrantEnv = { CABIFY_TOPOLOGY: resolve(topologyFile) };
  const vip = topology.vip.address;
  const nodes = topology.load_balancers.nodes;
  const holders = [];
  for (const node of nodes) if (await holdsVip(node.address, vip)) holders.push(node);
  if (holders.length !== 1) throw new Error(`expected one load balancer to hold ${vip}, found ${holders.length} (${holders.map((n) => n.name).join(", ")})`);
  const halted = holders[0]!;
  const others = nodes.filter((n) => n !== halted);

  const stop = new AbortController();
  const loads = vipClients(topology, MAX_LOAD_SECONDS, stop.signal, RATES);
  const origin = performance.now();
  const now = () => performance.now() - origin;
  const events: TimelineEvent[] = [];
  const mark = (label: string) => {
    const atMs = now();
    events.push({ atMs, label });
    log(`${(atMs / 1000).toFixed(1)} s  ${label}`);
    return atMs;
  };
  let haltAt = 0, backAt = 0, upDoneAt = 0, movedAt: number | undefined, takeover = "";
  try {
    await sleep(MARGIN_SECONDS * 1000); // the baseline: part of the drill, not a wait for a condition
    haltAt = mark(`vagrant halt ${halted.name}`);
    const halting = run("vagrant", ["halt", halted.name], vagrantEnv);
    let haltDone = false;
    void halting.finally(() => (haltDone = true));
    while (movedAt === undefined && (!haltDone || now() - haltAt < 60_000)) {
      for (const other of others) {
        if (await holdsVip(other.address, vip)) {
          movedAt = mark(`VIP on ${other.name}`);
          takeover = other.name;
        }
      }
      await sleep(250);
    }
    const halt = await halting;
    backAt = mark(halt.code === 0 ? `${halted.name} halted` : `vagrant halt exited ${halt.code}`);
    const up = await run("vagrant", ["up", "--no-provision", halted.name], vagrantEnv);
    upDoneAt = mark(up.code === 0 ? `${halted.name} up again` : `vagrant up exited ${up.code}`);
    if (up.code !== 0) throw new Error(`vagrant up ${halted.name} exited ${up.code}`);
    await sleep(MARGIN_SECONDS * 1000);
  } finally {
    stop.abort();
  }
  const [records, keepAlive] = await loads;
  const between = (from: number, to: number) => records.filter((r: RequestRecord) => r.startMs >= from && r.startMs < to);
  if (movedAt === undefined) throw new Error(`the VIP never moved off ${halted.name}`);
  const report: HaltDrillReport = {
    halted: halted.name, takeover, vipMovedSeconds: (movedAt - haltAt) / 1000, haltSeconds: (backAt - haltAt) / 1000, upSeconds: (upDoneAt - backAt) / 1000,
    baseline: summarize(between(0, haltAt)), halt: summarize(between(haltAt, backAt)), back: summarize(between(backAt, Infinity)),
    all: summarize(records), keepAlive: summarize(keepAlive), rates: RATES, events,
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
  const { all, halt, baseline } = report;
  console.log(`halt of ${report.halted}: VIP on ${report.takeover} after ${report.vipMovedSeconds.toFixed(2)} s; ` +
    `${all.failed} of ${all.sent} requests failed (${halt.failed} during the halt, ${report.back.failed} while it came back); ` +
    `longest gap ${(halt.longestGapMs / 1000).toFixed(2)} s (baseline ${(baseline.longestGapMs / 1000).toFixed(2)} s)`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
