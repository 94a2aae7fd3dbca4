/**
 * `npm run bench -- [--topology FILE] [--concurrency 10] [--rate 500] [--seconds 10] [--no-seed] [--report FILE]`
 *
 * Against a running lab (`npm run lab`): the same client, in one run, hits
 * one app instance directly, every instance directly (spread by the client),
 * the VIP, and the seed stack (images/seed: two bottle instances behind
 * HAProxy, started on the lab network for the run).
 * Prints throughput at a fixed concurrency, latency at a fixed rate, both as
 * ratios and differences against the direct path, and where the CPU went.
 * --report FILE replaces the part of FILE between `<!-- bench:begin -->` and
 * `<!-- bench:end -->` with the result. Exit 0 when it ran (whatever it
 * measured), 1 on error, 2 on bad usage.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { formatErrors } from "../topology/format.js";
import { loadTopology } from "../topology/load.js";
import { bench, benchMarkdown, verdicts, type Target } from "./bench.js";
import { startSeed, stopSeed } from "./seed.js";

const USAGE = "usage: npm run bench -- [--topology FILE] [--concurrency 10] [--rate 500] [--seconds 10] [--no-seed] [--report FILE]";
const say = (line: string) => process.stdout.write(`[bench] ${line}\n`);
const BEGIN = "<!-- bench:begin -->";
const END = "<!-- bench:end -->";

function positiveInteger(name: string, raw: string): number {
  if (!/^[1-9]\d*$/.test(raw)) throw new UsageError(`--${name} is "${raw}"; expected a positive whole number`);
  return Number(raw);
}
class UsageError extends Error {}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      topology: { type: "string", default: "configs/topology.yml" },
      concurrency: { type: "string", default: "10" },
      rate: { type: "string", default: "500" },
      seconds: { type: "string", default: "10" },
      "no-seed": { type: "boolean", default: false },
      report: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const options = { concurrency: positiveInteger("concurrency", values.concurrency), rate: positiveInteger("rate", values.rate), seconds: positiveInteger("seconds", values.seconds) };
  if (values.report && !readFileSync(values.report, "utf8").includes(BEGIN)) throw new UsageError(`--report ${values.report}: the file has no ${BEGIN} ... ${END} section to replace`);
  const loaded = await loadTopology(values.topology);
  if (!loaded.ok) {
    process.stderr.write(`${formatErrors(values.topology, loaded.errors)}\n`);
    return 2;
  }
  const { topology } = loaded;
  const instances = topology.app.hosts.map((h) => `http://${h.address}:${topology.service.port}/status`);
  // direct-all: every instance, no LB, the client spreading the load. Set
  // beside direct and vip, it tells the cost of the LB hop from the cost of
  // spreading the same load over several instances.
  const targets: Target[] = [
    { name: "direct", url: instances[0]! },
    { name: "direct-all", url: instances },
    { name: "vip", url: `http://${topology.vip.address}:${topology.load_balancers.frontend_port}/status` },
  ];
  try {
    if (!values["no-seed"]) targets.push({ name: "seed", url: await startSeed(topology, say) });
    const results = await bench(targets, options, say);
    for (const v of verdicts(results)) say(`${v.ok ? "met    " : "NOT MET"} ${v.what}: ${v.measured}`);
    if (values.report) {
      const argv = process.argv.slice(2).join(" ");
      const context = `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), the whole lab on the same machine`;
      const markdown = benchMarkdown(results, options, `npm run bench -- ${argv}`, context);
      const text = readFileSync(values.report, "utf8");
      writeFileSync(values.report, `${text.slice(0, text.indexOf(BEGIN) + BEGIN.length)}\n${markdown}\n${text.slice(text.indexOf(END))}`);
      say(`report: ${values.report}`);
    }
    return 0;
  } finally {
    if (!values["no-seed"]) await stopSeed(topology);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n${err instanceof UsageError ? `${USAGE}\n` : ""}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
