/**
 * `npm run validate -- [file] [--json]`: validates a topology file.
 * Exit status: 0 valid, 1 invalid, 2 unreadable file or bad usage.
 *
 * @example
 * // npm run validate                       -> configs/topology.yml: valid (3 consul servers, ...)
 * // npm run validate -- broken.yml --json  -> {"file":"broken.yml","valid":false,"errors":[...]}
 */
import { parseArgs } from "node:util";
import { DEFAULT_TOPOLOGY_FILE } from "./constants.js";
import { formatErrors, formatJson, formatValid } from "./format.js";
import { loadTopology, UnreadableError } from "./load.js";
import { RULES } from "./rules.js";

const USAGE = `Usage: npm run validate -- [file] [--json]

Validates a cabify-ha topology (default: ${DEFAULT_TOPOLOGY_FILE}, relative to
the current directory) against configs/topology.schema.json and these rules:
${RULES.map((r) => `  ${r.id}`).join("\n")}

Options:
  --json      print {"file", "valid", "errors"} on stdout instead of
              text on stderr
  -h, --help  print this help

Exit status: 0 valid, 1 invalid, 2 unreadable file or bad usage.`;

/** Runs the CLI on `args` (without node and script) and returns the exit status. */
async function main(args: string[]): Promise<number> {
  let options;
  try {
    options = parseArgs({
      args,
      allowPositionals: true,
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = options;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 1) return usageError(`expected at most one file, got ${positionals.length}`);
  const file = positionals[0] ?? DEFAULT_TOPOLOGY_FILE;

  let result;
  try {
    result = await loadTopology(file);
  } catch (error) {
    if (!(error instanceof UnreadableError)) throw error;
    console.error(`validate: ${error.message}`);
    return 2;
  }

  if (values.json) console.log(formatJson(file, result));
  else if (result.ok) console.log(formatValid(file, result.topology));
  else console.error(formatErrors(file, result.errors));
  return result.ok ? 0 : 1;
}

function usageError(problem: string): number {
  console.error(`validate: ${problem}\n\n${USAGE}`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
