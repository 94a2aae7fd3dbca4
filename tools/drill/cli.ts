/**
 * `npm run drill -- <name>|all [--topology FILE] [--report DIR] [--records]`: failover
 * drills under counted load against a running lab (`npm run lab`).
 *
 * Each drill counts every request its clients send, injects its fault,
 * checks its expectation on the counted requests and on the cluster's state,
 * and leaves the lab healthy. JSON and a timeline SVG per drill go to the
 * report directory (default .test-results/drills); with --report, a
 * README.md table too; --records keeps every request in the JSON. Exit 0
 * when every check held, 1 otherwise, 2 on bad usage.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatErrors } from "../topology/format.js";
import { loadTopology } from "../topology/load.js";
import { DRILLS } from "./drills.js";
import { drillLab } from "./lab.js";
import { reportMarkdown, runDrill, type DrillResult } from "./run.js";

const USAGE = `usage: npm run drill -- <name>|all [--topology FILE] [--report DIR] [--records]\ndrills: ${DRILLS.map((d) => d.name).join(", ")}`;
const say = (line: string) => process.stdout.write(`[drill] ${line}\n`);

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { topology: { type: "string", default: "configs/topology.yml" }, report: { type: "string" }, records: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [which] = positionals;
  const drills = which === "all" ? DRILLS : DRILLS.filter((d) => d.name === which);
  if (!which || drills.length === 0 || positionals.length > 1) {
    process.stderr.write(`drill: ${which ? `unknown drill "${which}"` : "a drill name or all is required"}\n${USAGE}\n`);
    return 2;
  }
  const loaded = await loadTopology(values.topology);
  if (!loaded.ok) {
    process.stderr.write(`${formatErrors(values.topology, loaded.errors)}\n`);
    return 2;
  }
  const lab = drillLab(loaded.topology);
  const reportDir = values.report ?? ".test-results/drills";
  const results: DrillResult[] = [];
  for (const drill of drills) {
    say(`${drill.name}: ${drill.fault}`);
    const result = await runDrill(drill, lab, reportDir, say, values.records ?? false);
    results.push(result);
    const { summary } = result;
    say(
      `${drill.name}: ${result.passed ? "PASS" : "FAIL"}: ${summary.sent} sent, ${summary.failed} failed ${JSON.stringify(summary.failures)}, ` +
        `longest gap ${(summary.longestGapMs / 1000).toFixed(2)} s, p99 ${summary.p99Ms.toFixed(0)} ms; keep-alive ${result.keepAlive.failed} of ${result.keepAlive.sent} failed`,
    );
    for (const check of result.checks) say(`  ${check.ok ? "ok  " : "FAIL"} ${check.what}: ${check.measured}`);
    for (const line of result.evidence ?? []) say(`  | ${line}`);
  }
  if (values.report) {
    const context = `${new Date().toISOString().slice(0, 10)}, topology ${values.topology}, on a 2-core machine running the whole lab`;
    writeFileSync(join(reportDir, "README.md"), `${reportMarkdown(results, context)}\n`);
    say(`report: ${join(reportDir, "README.md")}`);
  }
  return results.every((r) => r.passed) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`drill: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
