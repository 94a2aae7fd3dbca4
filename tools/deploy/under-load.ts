import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LOAD, vipClients } from "../drill/run.js";
import { summarize, type LoadSummary } from "../load/load.js";
import { renderTimeline, type TimelineEvent } from "../load/timeline.js";
import type { Topology } from "../topology/types.js";
import { runDeployPlaybook, type DeployOptions, type PlaybookRun } from "./playbook.js";
import { writeReportIndex } from "./report.js";

/** The longest a deploy's load runs: it stops when the deploy ends, or at this bound. */
const MAX_LOAD_SECONDS = 900;

export interface DeployReport extends PlaybookRun {
  version: string;
  strategy: string;
  /** Seconds from the playbook's start to its end. */
  deploySeconds: number;
  /** New connection per request, 2 s timeout, no retry: the drills' counted client. */
  load: LoadSummary;
  /** The same client over the seconds before the playbook started: what "normal" was in this run. */
  baseline: LoadSummary;
  /** Keep-alive clients beside it. */
  keepAlive: LoadSummary;
  events: TimelineEvent[];
  /** When the run ended (ISO 8601): orders the report index. */
  finishedAt: string;
}

/**
 * Runs deploy.yml while the drills' clients count every request to the VIP:
 * a baseline first, each host's steps marked as the playbook reports them,
 * a tail after it ends. Writes `<name>.json` and `<name>.svg` (the version
 * mix over time) into `reportDir` when given, and rewrites its README.md.
 *
 * @example
 * const report = await deployUnderLoad(topology, { version: "0.2.0", strategy: "rolling", topologyFile, inventory }, "docs/deploys", "rolling");
 */
export async function deployUnderLoad(topology: Topology, options: DeployOptions, reportDir?: string, name = `${options.strategy}-${options.version}`): Promise<DeployReport> {
  const stop = new AbortController();
  const loads = vipClients(topology, MAX_LOAD_SECONDS, stop.signal);
  const origin = performance.now();
  const events: TimelineEvent[] = [];
  const mark = (label: string) => events.push({ atMs: performance.now() - origin, label });
  let run: PlaybookRun;
  let deploySeconds: number;
  let startedMs: number;
  try {
    await sleep(LOAD.faultAfterMs); // the baseline the timeline starts with
    mark(`deploy ${options.version} (${options.strategy})`);
    const started = performance.now();
    startedMs = started - origin;
    run = await runDeployPlaybook(options, (host, step) => mark(`${host} ${step}`));
    deploySeconds = (performance.now() - started) / 1000;
    mark(run.exitCode === 0 ? "deploy done" : "deploy stopped");
    await sleep(LOAD.faultAfterMs); // and the tail it ends with
  } finally {
    stop.abort();
  }
  const [records, keepAliveRecords] = await loads;
  const report: DeployReport = { version: options.version, strategy: options.strategy, ...run, deploySeconds, load: summarize(records), baseline: summarize(records.filter((r) => r.startMs + r.latencyMs < startedMs)), keepAlive: summarize(keepAliveRecords), events, finishedAt: new Date().toISOString() };
  if (reportDir) {
    mkdirSync(reportDir, { recursive: true });
    writeFileSync(join(reportDir, `${name}.json`), `${JSON.stringify(report, null, 1)}\n`);
    writeFileSync(join(reportDir, `${name}.svg`), renderTimeline(records, events, run.summary || `deploy ${options.version} (${options.strategy})`));
    writeReportIndex(reportDir);
  }
  return report;
}
