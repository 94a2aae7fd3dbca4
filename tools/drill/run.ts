import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runLoad, summarize, type LoadSummary, type RequestRecord } from "../load/load.js";
import { renderTimeline, type TimelineEvent } from "../load/timeline.js";
import type { Check, Drill, Facts } from "./drills.js";
import { failureEvidence } from "./evidence.js";
import type { DrillLab } from "./lab.js";
import type { Topology } from "../topology/types.js";

/** The drills' clients: a new connection per request at this rate, and keep-alive clients beside them. */
export const LOAD = { rate: 200, keepAliveRate: 50, timeoutMs: 2000, faultAfterMs: 3000 };

/**
 * The drills' two counted clients against the topology's VIP, for `seconds`
 * or until `signal` aborts: [new connection per request, keep-alive].
 * Deploys under load (tools/deploy) count with the same clients; the Vagrant
 * drill (tools/vagrant) at lower `rates`, fit for VMs whose CPU is emulated.
 */
export function vipClients(topology: Topology, seconds: number, signal?: AbortSignal, rates: { rate: number; keepAliveRate: number } = LOAD): Promise<[RequestRecord[], RequestRecord[]]> {
  const common = { url: `http://${topology.vip.address}:${topology.load_balancers.frontend_port}/status`, durationSeconds: seconds, timeoutMs: LOAD.timeoutMs, ...(signal ? { signal } : {}) };
  return Promise.all([runLoad({ ...common, rate: rates.rate, keepAlive: false }), runLoad({ ...common, rate: rates.keepAliveRate, keepAlive: true })]);
}

export interface DrillResult {
  drill: string;
  fault: string;
  expected: string;
  /** New connection per request, 2 s timeout, no retry: what the checks count. */
  summary: LoadSummary;
  /** Keep-alive clients, reported alongside (a VIP move resets their open connections). */
  keepAlive: LoadSummary;
  facts: Facts;
  checks: Check[];
  events: TimelineEvent[];
  passed: boolean;
  /** Only when it failed: the failed requests and what the LBs logged meanwhile (evidence.ts). */
  evidence?: string[];
}

/**
 * Runs one drill: the lab made healthy, the counted loads started, the fault
 * injected 3 s in, recovery awaited, the loads run to their end, the checks
 * applied to what was counted, and the lab restored to healthy, so drills can
 * run in any order. Writes `<name>.json` (with every request when
 * `keepRecords`) and `<name>.svg` into `reportDir`.
 *
 * @example
 * const result = await runDrill(drill, drillLab(topology), ".test-results/drills");
 */
export async function runDrill(drill: Drill, lab: DrillLab, reportDir: string, log: (line: string) => void, keepRecords = false): Promise<DrillResult> {
  await lab.restore();
  if (drill.prepare) await drill.prepare(lab);
  const events: TimelineEvent[] = [];
  const startedAt = Date.now();
  const origin = performance.now();
  const now = () => performance.now() - origin;
  const loads = vipClients(lab.topology, drill.seconds);
  let facts: Facts = {};
  let error: unknown;
  try {
    await sleep(LOAD.faultAfterMs); // a baseline before the fault: part of the drill, not a wait for a condition
    facts = await drill.run({
      lab,
      mark(label) {
        const atMs = now();
        events.push({ atMs, label });
        log(`  ${(atMs / 1000).toFixed(2)} s  ${label}`);
        return atMs;
      },
      async until(what, probe, timeoutMs) {
        const started = now();
        for (;;) {
          if (await probe().catch(() => false)) return now();
          if (now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
          await sleep(50);
        }
      },
    });
  } catch (err) {
    error = err;
  }
  const [records, keepAliveRecords] = await loads;
  await lab.restore();
  const summary = summarize(records);
  const checks: Check[] = error
    ? [{ what: "the drill ran", ok: false, measured: error instanceof Error ? error.message : JSON.stringify(error) }]
    : drill.checks(summary, facts, records);
  const result: DrillResult = {
    drill: drill.name,
    fault: drill.fault,
    expected: drill.expected,
    summary,
    keepAlive: summarize(keepAliveRecords),
    facts,
    checks,
    events,
    passed: checks.every((c) => c.ok),
  };
  if (!result.passed) result.evidence = await failureEvidence(lab, startedAt, records);
  mkdirSync(reportDir, { recursive: true });
  // Every request only on demand: a 10 000-request drill is a megabyte of JSON.
  writeFileSync(join(reportDir, `${drill.name}.json`), `${JSON.stringify(keepRecords ? { ...result, records } : result, null, 1)}\n`);
  writeFileSync(join(reportDir, `${drill.name}.svg`), renderTimeline(records, events, `${drill.name}: ${drill.fault}`));
  return result;
}

/** The report's table, one row per drill, generated from results. */
export function reportMarkdown(results: DrillResult[], context: string): string {
  const sec = (ms: number | undefined) => (ms === undefined ? "—" : `${(ms / 1000).toFixed(2)} s`);
  const rows = results.map((r) =>
    [
      `[${r.drill}](${r.drill}.svg)`,
      r.summary.sent,
      r.summary.failed,
      sec(r.summary.longestGapMs),
      `${r.summary.p99Ms.toFixed(0)} ms`,
      sec(r.facts.recoveryMs),
      `${r.keepAlive.failed} of ${r.keepAlive.sent}`,
      r.passed ? "pass" : `**FAIL**: ${r.checks.filter((c) => !c.ok).map((c) => `${c.what} (${c.measured})`).join("; ")}`,
    ].join(" | "),
  );
  const details = results.map((r) => [`### ${r.drill}`, "", `Fault: ${r.fault}. Expected: ${r.expected}.`, "", ...r.checks.map((c) => `- ${c.ok ? "✓" : "✗"} ${c.what}: ${c.measured}`), ""].join("\n"));
  return [
    "# Failover drills",
    "",
    `Generated by \`npm run drill -- all --report docs/drills/\`; ${context}.`,
    `Clients: ${LOAD.rate} req/s to the VIP, a new connection per request, ${LOAD.timeoutMs / 1000} s timeout, no client retry (what the checks count);`,
    `and ${LOAD.keepAliveRate} req/s over keep-alive connections, reported alongside. The fault comes ${LOAD.faultAfterMs / 1000} s into the load.`,
    "",
    "| drill | requests | failed | longest gap | p99 | recovery | keep-alive failed | verdict |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map((row) => `| ${row} |`),
    "",
    ...details,
  ].join("\n");
}
