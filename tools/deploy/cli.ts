/**
 * `npm run deploy -- <version> [--strategy rolling|canary|bluegreen]`: runs
 * ansible/deploy.yml against the lab (or --inventory) and says which host runs
 * which version.
 *   --topology FILE     the cluster (default configs/topology.yml)
 *   --inventory FILE    default: the lab's, .lab/<cluster>/inventory.yml
 *   --load              count every request to the VIP meanwhile (the drills' clients)
 *   --report DIR        with --load: write <strategy>-<version>.json and .svg there
 *   --ready-timeout S   how long a new instance may take to turn ready (default 60)
 * Exit codes: 0 deployed, 2 the deploy stopped at a failed batch (that batch
 * was put back), 1 anything else, e.g. bad usage or an invalid topology.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatErrors } from "../topology/format.js";
import { loadTopology, UnreadableError } from "../topology/load.js";
import { labInventory } from "../lab/up.js";
import { runDeployPlaybook, STRATEGIES, type DeployOptions, type Strategy } from "./playbook.js";
import { deployUnderLoad } from "./under-load.js";

const USAGE = "usage: npm run deploy -- <version> [--strategy rolling|canary|bluegreen] [--topology FILE] [--inventory FILE] [--load [--report DIR]] [--ready-timeout S]";

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      strategy: { type: "string", default: "rolling" },
      topology: { type: "string", default: "configs/topology.yml" },
      inventory: { type: "string" },
      load: { type: "boolean" },
      report: { type: "string" },
      "ready-timeout": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [version] = positionals;
  const strategy = values.strategy as Strategy;
  if (!version || positionals.length > 1 || !STRATEGIES.includes(strategy) || (values.report && !values.load)) {
    process.stderr.write(`${USAGE}\n`);
    return 1;
  }
  const loaded = await loadTopology(values.topology).catch((err: unknown) => {
    if (err instanceof UnreadableError) return { ok: false as const, unreadable: err.message };
    throw err;
  });
  if ("unreadable" in loaded) {
    process.stderr.write(`deploy: ${loaded.unreadable}\n`);
    return 1;
  }
  if (!loaded.ok) {
    process.stderr.write(`${formatErrors(values.topology, loaded.errors)}\n`);
    return 1;
  }
  const options: DeployOptions = {
    version,
    strategy,
    topologyFile: resolve(values.topology),
    inventory: resolve(values.inventory ?? labInventory(loaded.topology)),
    extraVars: values["ready-timeout"] ? [`cabify_ready_timeout_seconds=${values["ready-timeout"]}`] : [],
  };
  if (!values.load) {
    return exitCodeOf(await runDeployPlaybook(options));
  }
  const report = await deployUnderLoad(loaded.topology, options, values.report);
  const { load } = report;
  process.stdout.write(
    [
      `[deploy] ${report.summary || `ansible-playbook exited with ${report.exitCode}`}`,
      `[deploy] ${report.deploySeconds.toFixed(1)} s; load: ${load.sent} requests, ${load.failed} failed ${JSON.stringify(load.failures)}, longest gap ${(load.longestGapMs / 1000).toFixed(2)} s, p99 ${load.p99Ms.toFixed(0)} ms`,
      `[deploy] answers per version: ${JSON.stringify(load.perVersion)}; keep-alive: ${report.keepAlive.failed} of ${report.keepAlive.sent} failed`,
      "",
    ].join("\n"),
  );
  return exitCodeOf(report);
}

/** ansible-playbook's 0 (deployed) and 2 (a host failed: the deploy stopped at a batch) pass through; anything else is 1. */
const exitCodeOf = ({ exitCode }: { exitCode: number }) => (exitCode === 0 || exitCode === 2 ? exitCode : 1);

process.exitCode = await main();
