/**
 * `npm run load -- --url URL [--rate N] [--duration S] [--timeout MS] [--keep-alive] [--records FILE] [--chart FILE.svg]`
 *
 * A bounded, counted load against one URL. Prints the summary as one JSON
 * object on stdout (for scripts and tests) and a readable line on stderr;
 * --records writes every request as JSON, --chart a timeline SVG (see
 * timeline.ts). Exit 0 when it ran (whatever it
 * counted), 2 on bad usage.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { runLoad, summarize } from "./load.js";
import { renderTimeline } from "./timeline.js";

const USAGE = "usage: npm run load -- --url URL [--rate 200] [--duration 10] [--timeout 2000] [--keep-alive] [--records FILE] [--chart FILE.svg]";

function positive(name: string, raw: string): number {
  const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(value > 0)) throw new Error(`--${name} is "${raw}"; expected a positive decimal number`);
  return value;
}

try {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      rate: { type: "string", default: "200" },
      duration: { type: "string", default: "10" },
      timeout: { type: "string", default: "2000" },
      "keep-alive": { type: "boolean", default: false },
      records: { type: "string" },
      chart: { type: "string" },
    },
  });
  if (!values.url) throw new Error("--url is required");
  const records = await runLoad({
    url: values.url,
    rate: positive("rate", values.rate),
    durationSeconds: positive("duration", values.duration),
    timeoutMs: positive("timeout", values.timeout),
    keepAlive: values["keep-alive"],
  });
  const summary = summarize(records);
  if (values.records) writeFileSync(values.records, `${JSON.stringify(records)}\n`);
  if (values.chart) writeFileSync(values.chart, renderTimeline(records, [], `${values.url}: ${values.rate} req/s for ${values.duration} s${values["keep-alive"] ? ", keep-alive" : ", a new connection per request"}`));
  process.stderr.write(
    `[load] ${summary.sent} sent, ${summary.ok} ok, ${summary.failed} failed ${JSON.stringify(summary.failures)}; longest gap ${(summary.longestGapMs / 1000).toFixed(2)} s; ` +
      `p50 ${summary.p50Ms.toFixed(1)} ms, p99 ${summary.p99Ms.toFixed(1)} ms, max ${summary.maxMs.toFixed(1)} ms\n`,
  );
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} catch (err) {
  process.stderr.write(`load: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
}
